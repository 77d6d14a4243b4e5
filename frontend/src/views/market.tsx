// Market view: day-ahead price (hourly and quarter-hourly on one axis), generation by fuel as
// stacked areas and the grid's CO2 intensity for one zone and period.
import { useMemo } from "preact/hooks";
import uPlot from "uplot";
import { request } from "../api";
import { alignColumns, Chart, COLORS } from "../chart";
import { formatNumber, formatTime, formatWithUnit } from "../format";
import {
  GenerationDocument,
  type GenerationQuery,
  GridIntensityDocument,
  type GridIntensityQuery,
  MarketPriceDocument,
  type MarketPriceQuery,
} from "../graphql/generated";
import { PeriodPicker } from "../period";
import { Empty, ErrorBox, type Loadable, Loading, useLoad } from "../query";
import { href, navigate } from "../router";
import { chooseEvery, isValidZone, parseRfc3339, periodContaining, type Range, toRfc3339 } from "../time";

// SMARD's own stacking order, bottom to top, with fixed colours per fuel (filter ids).
const FUELS: readonly (readonly [string, string, string])[] = [
  ["1224", "Nuclear", "#a3186b"],
  ["1223", "Lignite", "#7b4f2c"],
  ["4069", "Hard coal", "#3d3d3d"],
  ["4071", "Natural gas", "#d94f3d"],
  ["4070", "Pumped storage", "#4f7fbf"],
  ["1227", "Other conventional", "#8c8c8c"],
  ["4066", "Biomass", "#4c9a2a"],
  ["1226", "Hydro", "#1f78b4"],
  ["1225", "Wind offshore", "#2bb3c0"],
  ["4067", "Wind onshore", "#7fd3e0"],
  ["4068", "Photovoltaics", "#f4b400"],
  ["1228", "Other renewables", "#9ccc65"],
];

type Price = MarketPriceQuery["marketPrice"];

function seconds(starts: string[]): number[] {
  return starts.map((s) => Date.parse(s) / 1000);
}

function Section<T>({ title, load, children }: { title: string; load: Loadable<T>; children: (data: T) => preact.ComponentChildren }) {
  return (
    <section>
      <h2 class="chart-title">{title}</h2>
      {load.state === "loading" && <Loading what={title.toLowerCase()} />}
      {load.state === "error" && <ErrorBox error={load.error} />}
      {load.state === "ready" && children(load.data)}
    </section>
  );
}

function PriceChart({ hour, quarter, tz, range }: { hour: Price | null; quarter: Price | null; tz: string; range: Range }) {
  const { data, series, points } = useMemo(() => {
    const column = (p: Price | null) => ({ starts: p?.starts ?? [], values: p?.eurPerMwh });
    const data = alignColumns([column(quarter), column(hour)]);
    const line = (label: string, color: string, width: number): uPlot.Series => ({
      label,
      stroke: color,
      width,
      spanGaps: true,
      paths: uPlot.paths.stepped!({ align: 1 }),
      points: { show: false },
      value: (_u, v) => formatWithUnit(v, "EUR/MWh", 2),
    });
    return {
      data,
      series: [line(`Quarter-hour ${quarter?.key ?? "(none)"}`, COLORS.priceQuarter, 1), line(`Hour ${hour?.key ?? "(none)"}`, COLORS.price, 2)],
      points: data[0].length,
    };
  }, [hour, quarter]);
  return (
    <Chart
      testid="chart-market-price"
      tz={tz}
      data={data}
      series={series}
      points={points}
      axes={[{ label: "EUR/MWh", values: (_u, t) => t.map((v) => formatNumber(v, 0)) }]}
      scales={fullRange(range)}
    />
  );
}

const fullRange = (range: Range) => ({ x: { time: true, range: (): uPlot.Range.MinMax => [range.from / 1000, range.to / 1000] } });

function GenerationChart({ nodes, tz, range }: { nodes: GenerationQuery["seriesList"]["nodes"]; tz: string; range: Range }) {
  const { data, series, points } = useMemo(() => {
    const byFilter = new Map(nodes.map((n) => [String((n.labels as Record<string, unknown>).filter ?? ""), n]));
    const fuels = FUELS.filter(([id]) => byFilter.has(id));
    const first = byFilter.get(fuels[0]?.[0] ?? "");
    const x = first ? seconds(first.aggregate.starts) : [];
    const raw = fuels.map(([id]) => x.map((_, i) => byFilter.get(id)!.aggregate.sum?.[i] ?? null));
    let acc = x.map(() => 0);
    const stacked = raw.map((col) => (acc = col.map((v, i) => (acc[i] ?? 0) + (v ?? 0))));
    // Cumulative areas drawn top first, so each lower fuel paints over the one above it.
    const order = fuels.map((_, i) => fuels.length - 1 - i);
    return {
      data: [x, ...order.map((i) => stacked[i]!)] as uPlot.AlignedData,
      series: order.map((i): uPlot.Series => ({
        label: fuels[i]![1],
        stroke: fuels[i]![2],
        fill: fuels[i]![2],
        width: 0,
        points: { show: false },
        value: (_u, _v, _s, idx) => (idx === null ? "–" : formatWithUnit(raw[i]![idx], "MWh", 0)),
      })),
      points: x.length,
    };
  }, [nodes]);
  if (points === 0) return <Empty>No generation series for this region.</Empty>;
  return (
    <Chart
      testid="chart-market-generation"
      tz={tz}
      data={data}
      series={series}
      points={points}
      axes={[{ label: "MWh per bucket", values: (_u, t) => t.map((v) => formatNumber(v, 0)) }]}
      scales={fullRange(range)}
    />
  );
}

function IntensityChart({ intensity, tz, range }: { intensity: GridIntensityQuery["gridIntensity"]; tz: string; range: Range }) {
  const data = useMemo(() => [seconds(intensity.starts), intensity.gPerKwh] as uPlot.AlignedData, [intensity]);
  const series = useMemo<uPlot.Series[]>(
    () => [{ label: "Grid CO₂ intensity", stroke: COLORS.intensity, width: 2, points: { show: false }, value: (_u, v) => formatWithUnit(v, "g/kWh", 0) }],
    [],
  );
  return (
    <>
      <Chart
        testid="chart-market-intensity"
        tz={tz}
        data={data}
        series={series}
        points={intensity.starts.length}
        axes={[{ label: "g CO₂/kWh", values: (_u, t) => t.map((v) => formatNumber(v, 0)) }]}
        scales={fullRange(range)}
      />
      <p class="zone">
        Period mean {formatWithUnit(intensity.total.gPerKwh, "g/kWh", 0)}, coverage {formatNumber((intensity.total.coverage ?? 0) * 100, 1)} %
        {intensity.warnings.map((w) => ` · ${w.level} ${w.code}: ${w.message}`).join("")}
      </p>
    </>
  );
}

export function MarketView({ zone, params }: { zone: string; params: URLSearchParams }) {
  const tzParam = params.get("tz");
  const tz = tzParam && isValidZone(tzParam) ? tzParam : "Europe/Berlin";
  // Prices are per bidding zone (DE-LU), generation per control area (DE).
  const region = params.get("region") ?? zone.split("-")[0] ?? zone;
  const from = parseRfc3339(params.get("from"));
  const to = parseRfc3339(params.get("to"));
  const range: Range = from !== null && to !== null && to > from ? { from, to } : periodContaining("week", Date.now(), tz);
  const path = `/market/${encodeURIComponent(zone)}`;
  const query = { from: toRfc3339(range.from, tz), to: toRfc3339(range.to, tz), region: params.get("region"), tz: tzParam };
  const url = href(path, query);
  if (from === null || to === null) navigate(url, true);

  const every = chooseEvery(range, 1000, "PT1H");
  const quarterEvery = chooseEvery(range, 3000, "PT15M");
  const vars = { from: query.from, to: query.to, timezone: tz };
  const hour = useLoad(`${url}|h`, (s) => request(MarketPriceDocument, { ...vars, zone, resolution: "HOUR", every }, s));
  const quarter = useLoad(`${url}|q`, (s) => request(MarketPriceDocument, { ...vars, zone, resolution: "QUARTERHOUR", every: quarterEvery }, s));
  const intensity = useLoad(`${url}|i`, (s) => request(GridIntensityDocument, { ...vars, region, every }, s));
  const generation = useLoad(`${url}|g`, (s) => request(GenerationDocument, { ...vars, labels: { region }, every }, s));

  const prices: Loadable<{ hour: Price | null; quarter: Price | null }> =
    hour.state === "loading" || quarter.state === "loading"
      ? { state: "loading" }
      : hour.state === "error" && quarter.state === "error"
        ? hour
        : {
            state: "ready",
            data: {
              hour: hour.state === "ready" ? hour.data.marketPrice : null,
              quarter: quarter.state === "ready" ? quarter.data.marketPrice : null,
            },
          };

  return (
    <div class="view market" data-testid="view-market">
      <div class="toolbar">
        <label>
          Zone{" "}
          <select data-testid="zone-select" value={zone} onChange={(e) => navigate(href(`/market/${e.currentTarget.value}`, { ...query, region: null }))}>
            {[...new Set([zone, "DE-LU", "AT", "NL", "FR", "BE", "PL"])].map((z) => (
              <option key={z} value={z}>
                {z}
              </option>
            ))}
          </select>
        </label>
        <PeriodPicker range={range} tz={tz} onChange={(r) => navigate(href(path, { ...query, from: toRfc3339(r.from, tz), to: toRfc3339(r.to, tz) }))} />
      </div>
      <h2>
        {zone} (generation: {region}), {formatTime(range.from, tz)} – {formatTime(range.to, tz)}
      </h2>
      <Section title={`Day-ahead price, ${every} and ${quarterEvery} means`} load={prices}>
        {(p) => (
          <>
            <PriceChart hour={p.hour} quarter={p.quarter} tz={tz} range={range} />
            <p class="zone">
              {[p.hour, p.quarter]
                .filter((x): x is Price => x !== null)
                .map((x) => `${x.key}: mean ${formatWithUnit(x.total.eurPerMwh, "EUR/MWh", 2)}, coverage ${formatNumber(x.total.coverage * 100, 1)} %`)
                .join(" · ")}
              {hour.state === "error" && ` · hourly prices: ${hour.error.message}`}
              {quarter.state === "error" && ` · quarter-hour prices: ${quarter.error.message}`}
            </p>
          </>
        )}
      </Section>
      <Section title={`Generation by fuel (${region}), ${every} buckets`} load={generation}>
        {(g) => <GenerationChart nodes={g.seriesList.nodes} tz={tz} range={range} />}
      </Section>
      <Section title={`Grid CO₂ intensity (${region}), ${every} buckets`} load={intensity}>
        {(i) => <IntensityChart intensity={i.gridIntensity} tz={tz} range={range} />}
      </Section>
    </div>
  );
}
