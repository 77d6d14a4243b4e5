// Site view: one period's energy flows as bars and its KPI totals as cards, with coverage
// and warnings. Bars follow the site's wall clock (a 25-hour day has 25 hourly bars).
import { useMemo, useState } from "preact/hooks";
import uPlot from "uplot";
import { ApiError, request } from "../api";
import { Chart, COLORS } from "../chart";
import { formatNumber, formatPercent, formatTime, formatWithUnit } from "../format";
import { forecastLines, MIN_COVERAGE, modelsOf, type Role } from "../forecast";
import { CARD_QUANTITIES, CARDS, show } from "../kpis";
import {
  type KpiValuesFragment,
  SeriesExtentDocument,
  type SiteKpisQuery,
  SiteForecastsDocument,
  SiteKpisDocument,
  type SitesQuery,
} from "../graphql/generated";
import { PeriodPicker } from "../period";
import { Empty, ErrorBox, Loading, useLoad } from "../query";
import { href, navigate } from "../router";
import { everyForPeriod, isDuration, kindOf, parseRfc3339, periodContaining, type Range, toRfc3339 } from "../time";

type Site = SitesQuery["sites"][number];
type Warning = NonNullable<SiteKpisQuery["site"]>["kpis"]["warnings"][number];
/** Warnings grouped by level, code and quantity: the period-level message, and the buckets concerned
 * (folded when there are several), so a month of missing prices stays one line. */
function WarningList({ warnings, buckets, tz }: { warnings: Warning[]; buckets: KpiValuesFragment[]; tz: string }) {
  const groups = new Map<string, Warning[]>();
  for (const w of warnings) {
    const id = `${w.level} ${w.code} ${w.quantity ?? ""}`;
    groups.set(id, [...(groups.get(id) ?? []), w]);
  }
  const when = (w: Warning) =>
    w.bucket !== null && w.bucket !== undefined && buckets[w.bucket] ? formatTime(Date.parse(buckets[w.bucket]!.start), tz) : "";
  return (
    <ul class="warnings">
      {[...groups.values()].map((group) => {
        const first = group[0]!;
        const total = group.find((w) => w.bucket === null || w.bucket === undefined);
        const perBucket = group.filter((w) => w !== total);
        return (
          <li key={`${first.level}${first.code}${first.quantity ?? ""}`} class={`warning ${first.level.toLowerCase()}`} data-testid="kpi-warning" data-code={first.code}>
            <strong>{first.level === "ERROR" ? "Error" : "Warning"}</strong> {first.code}: {(total ?? first).message}
            {perBucket.length === 1 && ` (${when(perBucket[0]!)})`}
            {perBucket.length > 1 && (
              <details>
                <summary>in {perBucket.length} buckets</summary>
                <ul>
                  {perBucket.map((w, i) => (
                    <li key={i}>
                      {when(w)}: {w.message}
                    </li>
                  ))}
                </ul>
              </details>
            )}
          </li>
        );
      })}
    </ul>
  );
}

function KpiCards({ kpis, tz }: { kpis: NonNullable<SiteKpisQuery["site"]>["kpis"]; tz: string }) {
  const total = kpis.total;
  const general = kpis.warnings.filter((w) => !w.quantity || !CARD_QUANTITIES.has(w.quantity));
  return (
    <>
      <div class="cards">
        {CARDS.map((card) => {
          const value = total[card.name];
          const concerns = kpis.warnings.filter((w) => w.quantity && card.quantities.includes(w.quantity));
          return (
            <section class="card" key={card.name} data-testid={`kpi-${card.name}`} data-value={value ?? ""}>
              <h3>{card.label}</h3>
              <p class="figure">{show(card.kind, value)}</p>
              <p class="coverage" data-testid={`coverage-${card.name}`} data-value={total[card.coverage]}>
                coverage {formatPercent(total[card.coverage], 1)}
              </p>
              {concerns.length > 0 && <WarningList warnings={concerns} buckets={kpis.buckets} tz={tz} />}
            </section>
          );
        })}
      </div>
      {general.length > 0 && (
        <section class="general-warnings">
          <h3>Warnings for this period</h3>
          <WarningList warnings={general} buckets={kpis.buckets} tz={tz} />
        </section>
      )}
    </>
  );
}

/** An empty period's way out: the week of the site's latest measurement. */
function LatestData({ site, onRange }: { site: Site; onRange: (range: Range) => void }) {
  const [problem, setProblem] = useState<string | null>(null);
  const key = site.load ?? site.pv ?? site.grid;
  if (!key) return null;
  const go = async () => {
    try {
      const last = (await request(SeriesExtentDocument, { key }, undefined)).series?.lastTimestamp;
      if (last) onRange(periodContaining("week", Date.parse(last), site.timezone));
      else setProblem(`${key} has no samples yet.`);
    } catch (error) {
      setProblem(error instanceof ApiError ? error.message : String(error));
    }
  };
  return (
    <>
      <button type="button" data-testid="latest-data" onClick={go}>
        Show the week of the latest data
      </button>
      {problem && <span class="zone"> {problem}</span>}
    </>
  );
}

function stack(...columns: number[][]): number[][] {
  const sums: number[][] = [];
  columns.reduce<number[]>((acc, col) => {
    const next = col.map((v, i) => v + (acc[i] ?? 0));
    sums.push(next);
    return next;
  }, []);
  return sums;
}

/** A step line drawn over the bars (forecasts), kWh per bucket. */
interface Overlay {
  label: string;
  color: string;
  dash?: number[];
  values: (number | null)[];
}

function EnergyChart({ buckets, range, tz, overlays, onDrawn }: {
  buckets: KpiValuesFragment[];
  range: Range;
  tz: string;
  overlays: readonly Overlay[];
  onDrawn: () => void;
}) {
  const { data, series } = useMemo(() => {
    // One extra x at the period's end closes the production step line; it has no bar.
    const x = [...buckets.map((b) => Date.parse(b.start) / 1000), range.to / 1000];
    const col = (f: (b: KpiValuesFragment) => number) => buckets.map(f);
    const closed = (values: number[]) => [...values, null];
    const solarUsed = col((b) => Math.max(0, b.selfSupply - b.batteryDischarge));
    const discharge = col((b) => b.batteryDischarge);
    const imported = col((b) => b.gridImport);
    const exported = col((b) => -b.gridExport);
    const charged = col((b) => -b.batteryCharge);
    const [up1, up2, up3] = stack(solarUsed, discharge, imported) as [number[], number[], number[]];
    const [down1, down2] = stack(exported, charged) as [number[], number[]];
    // Stacks are drawn as cumulative bars, tallest first; the legend shows each flow's own value.
    const raw = [imported, discharge, solarUsed, charged, exported, col((b) => b.production)];
    const bars = uPlot.paths.bars!({ size: [0.85, 400], align: 1 });
    const flow = (label: string, color: string, i: number): uPlot.Series => ({
      label,
      fill: color,
      stroke: color,
      width: 0,
      paths: bars,
      points: { show: false },
      value: (_u, _v, _s, idx) => (idx === null ? "–" : formatWithUnit(Math.abs(raw[i]![idx]!), "kWh", 2)),
    });
    const series: uPlot.Series[] = [
      flow("Grid import", COLORS.gridImport, 0),
      flow("Battery discharge", COLORS.battery, 1),
      flow("Solar used on site", COLORS.selfSupply, 2),
      flow("Battery charge", COLORS.batteryCharge, 3),
      flow("Grid export", COLORS.gridExport, 4),
      {
        label: "Production",
        stroke: COLORS.production,
        width: 2,
        dash: [6, 4],
        paths: uPlot.paths.stepped!({ align: 1 }),
        points: { show: false },
        value: (_u, v) => formatWithUnit(v, "kWh", 2),
      },
      ...overlays.map(
        (o): uPlot.Series => ({
          label: o.label,
          stroke: o.color,
          width: 2,
          ...(o.dash ? { dash: o.dash } : {}),
          paths: uPlot.paths.stepped!({ align: 1 }),
          points: { show: false },
          spanGaps: false,
          value: (_u, v) => formatWithUnit(v, "kWh", 2),
        }),
      ),
    ];
    const production = raw[5]!;
    // A step line needs its last value repeated at the period's end to draw the last bucket.
    const step = (values: readonly (number | null)[]) => [...values, values[values.length - 1] ?? null];
    const data: uPlot.AlignedData = [x, ...[up3, up2, up1, down2, down1].map(closed), step(production), ...overlays.map((o) => step(o.values))];
    return { data, series };
  }, [buckets, range, overlays]);
  const axes = useMemo<uPlot.Axis[]>(() => [{ label: "kWh per bucket", values: (_u, ticks) => ticks.map((t) => formatNumber(t, 1)) }], []);
  const scales = { x: { time: true, range: (): uPlot.Range.MinMax => [range.from / 1000, range.to / 1000] } };
  return <Chart testid="chart-site-energy" tz={tz} data={data} series={series} axes={axes} points={buckets.length} scales={scales} onDrawn={onDrawn} />;
}

const FORECAST_COLORS: Record<Role, string> = { pv: COLORS.forecastPv, load: COLORS.forecastLoad };
const ROLE_LABELS: Record<Role, string> = { pv: "PV", load: "Load" };

/** The bars, and once they are drawn, the forecasts of the site's PV and load series over them
 * (a third request, sent after the first draw so the first render needs only two). */
function EnergyWithForecasts({ site, kpis, range, every, fromText, toText }: {
  site: Site;
  kpis: NonNullable<SiteKpisQuery["site"]>["kpis"];
  range: Range;
  every: string;
  fromText: string;
  toText: string;
}) {
  const [show, setShow] = useState(true);
  const [dayAhead, setDayAhead] = useState(false);
  const [chosen, setChosen] = useState<string | null>(null);
  // The forecasts are asked for once the bars are painted, so they never delay them.
  const [painted, setPainted] = useState(false);
  const hasSource = !!(site.pv || site.load);
  const forecasts = useLoad(painted && hasSource ? `${site.key}|${fromText}|${toText}|${every}` : null, (signal) =>
    request(
      SiteForecastsDocument,
      { pv: site.pv ?? "", load: site.load ?? "", hasPv: !!site.pv, hasLoad: !!site.load, from: fromText, to: toText, every, timezone: kpis.timezone },
      signal,
    ),
  );
  const lines = useMemo(
    () => (forecasts.state === "ready" ? forecastLines(forecasts.data, kpis.buckets.map((b) => b.start)) : []),
    [forecasts, kpis],
  );
  const models = modelsOf(lines);
  const model = chosen !== null && models.includes(chosen) ? chosen : (models[0] ?? null);
  const drawn = lines.filter((l) => l.model === model && (!l.dayAhead || dayAhead));
  const overlays = useMemo<Overlay[]>(
    () =>
      show
        ? drawn.map((l) => ({
            label: `${ROLE_LABELS[l.role]} forecast${l.dayAhead ? " (D+1)" : ""}`,
            color: FORECAST_COLORS[l.role],
            ...(l.dayAhead ? { dash: [1, 4] } : {}),
            values: l.values,
          }))
        : [],
    // Lines are recomputed only when the data or the choice change.
    [show, lines, model, dayAhead],
  );
  const points = overlays.length ? Math.max(...drawn.map((l) => l.values.filter((v) => v !== null).length)) : 0;
  return (
    <>
      <EnergyChart buckets={kpis.buckets} range={range} tz={kpis.timezone} overlays={overlays} onDrawn={() => painted || setPainted(true)} />
      {forecasts.state === "error" && <p class="status zone">Forecasts could not be loaded: {forecasts.error.message}</p>}
      {models.length > 0 && (
        <div class="forecast-controls" data-testid="forecast-overlay" data-points={points} data-model={show ? model : ""} data-series={show ? drawn.map((l) => l.key).join(",") : ""}>
          <label>
            <input type="checkbox" data-testid="forecast-toggle" checked={show} onChange={(e) => setShow(e.currentTarget.checked)} /> Forecast
          </label>{" "}
          <label>
            model{" "}
            <select data-testid="forecast-model" value={model ?? ""} disabled={!show} onChange={(e) => setChosen(e.currentTarget.value)}>
              {models.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </label>{" "}
          {lines.some((l) => l.dayAhead && l.model === model) && (
            <label>
              <input type="checkbox" data-testid="forecast-day-ahead" checked={dayAhead} disabled={!show} onChange={(e) => setDayAhead(e.currentTarget.checked)} /> D+1 (as forecast the day before)
            </label>
          )}
          <span class="zone"> kWh per bucket; buckets the forecast covers less than {Math.round(MIN_COVERAGE * 100)} % of are left out.</span>
        </div>
      )}
    </>
  );
}

function ScenarioLinks({ sites, siteKey }: { sites: Site[]; siteKey: string }) {
  // Scenario sites carry their scenario's key and base site as labels (docs/scenarios.md).
  const scenarios = sites.flatMap((s) => {
    const labels = (s.labels ?? {}) as Record<string, unknown>;
    return labels.base_site === siteKey && typeof labels.scenario === "string" ? [labels.scenario] : [];
  });
  if (!scenarios.length) return null;
  return (
    <p class="scenario-links" data-testid="scenario-links">
      Scenarios of this site:{" "}
      {scenarios.map((key, i) => (
        <span key={key}>
          {i > 0 && ", "}
          <a href={`/scenario/${encodeURIComponent(key)}`} data-testid={`scenario-link-${key}`} onClick={(e) => (e.preventDefault(), navigate(`/scenario/${encodeURIComponent(key)}`))}>
            {key}
          </a>
        </span>
      ))}
    </p>
  );
}

export function SiteView({ sites, siteKey, params }: { sites: Site[] | null; siteKey: string; params: URLSearchParams }) {
  const site = sites?.find((s) => s.key === siteKey);
  const tz = site?.timezone ?? "UTC";
  const fromText = params.get("from");
  const toText = params.get("to");
  const everyParam = params.get("every");
  const from = parseRfc3339(fromText);
  const to = parseRfc3339(toText);
  const valid = from !== null && to !== null && to > from;
  const range: Range = valid ? { from, to } : periodContaining("week", Date.now(), tz);
  const every = isDuration(everyParam) ? everyParam : everyForPeriod(kindOf(range, tz), range);
  const path = `/site/${encodeURIComponent(siteKey)}`;
  // A complete URL is requested as it stands, in parallel with the site list; an incomplete
  // one is completed (in the site's zone) once the list has arrived.
  const complete = valid && isDuration(everyParam);
  if (site && !complete) {
    navigate(href(path, { from: toRfc3339(range.from, tz), to: toRfc3339(range.to, tz), every }), true);
  }
  const query = useLoad(complete ? `${siteKey}|${fromText}|${toText}|${every}` : null, (signal) =>
    request(SiteKpisDocument, { site: siteKey, from: fromText!, to: toText!, every }, signal),
  );

  if (sites === null) return <Loading what="sites" />;
  if (!site) {
    return (
      <Empty>
        There is no site “{siteKey}”.{" "}
        {sites.length ? "Sites: " : "No sites yet: create one with the upsertSite mutation."}
        {sites.map((s, i) => (
          <span key={s.key}>
            {i > 0 && ", "}
            <a href={`/site/${encodeURIComponent(s.key)}`} onClick={(e) => (e.preventDefault(), navigate(`/site/${encodeURIComponent(s.key)}`))}>
              {s.name} ({s.key})
            </a>
          </span>
        ))}
      </Empty>
    );
  }
  const change = (next: Range) => {
    const kind = kindOf(next, tz);
    navigate(href(path, { from: toRfc3339(next.from, tz), to: toRfc3339(next.to, tz), every: everyForPeriod(kind, next) }));
  };
  return (
    <div class="view site" data-testid="view-site">
      <div class="toolbar">
        <label>
          Site{" "}
          <select
            data-testid="site-select"
            value={siteKey}
            onChange={(e) => navigate(href(`/site/${encodeURIComponent(e.currentTarget.value)}`, { from: params.get("from"), to: params.get("to") }))}
          >
            {sites.map((s) => (
              <option key={s.key} value={s.key}>
                {s.name} ({s.key})
              </option>
            ))}
          </select>
        </label>
        <PeriodPicker range={range} tz={tz} onChange={change} />
      </div>
      <ScenarioLinks sites={sites} siteKey={siteKey} />
      <h2>
        {site.name}: {formatTime(range.from, tz)} – {formatTime(range.to, tz)}, {every} buckets
      </h2>
      {query.state === "loading" && <Loading what="site figures" />}
      {query.state === "error" && <ErrorBox error={query.error} />}
      {query.state === "ready" && query.data.site && (
        <>
          {query.data.site.kpis.total.coverage === 0 && (
            <Empty>
              No measurements of this site in this period. <LatestData site={site} onRange={change} />
            </Empty>
          )}
          <KpiCards kpis={query.data.site.kpis} tz={tz} />
          <EnergyWithForecasts site={site} kpis={query.data.site.kpis} range={range} every={every} fromText={fromText!} toText={toText!} />
        </>
      )}
    </div>
  );
}
