// Series explorer: find series, plot one or several with `aggregate` at a width chosen from the
// visible range (within the point budget), zoom by dragging, raw samples, CSV of what is shown.
import { useMemo, useState } from "preact/hooks";
import uPlot from "uplot";
import { request } from "../api";
import { alignColumns, Chart } from "../chart";
import { csv, formatNumber, formatTime, formatWithUnit } from "../format";
import {
  type Fill,
  SeriesAggregateDocument,
  type SeriesAggregateQuery,
  SeriesExtentDocument,
  type SeriesKind,
  SeriesSamplesDocument,
  SeriesSearchDocument,
} from "../graphql/generated";
import { Empty, ErrorBox, Loading, useLoad } from "../query";
import { href, navigate } from "../router";
import { chooseEvery, isDuration, parseRfc3339, type Range, toRfc3339 } from "../time";

const KINDS: readonly SeriesKind[] = ["POWER", "ENERGY", "METER", "PRICE", "CO2_INTENSITY", "KPI", "OTHER"];
const FILLS: readonly Fill[] = ["NONE", "NULL", "ZERO", "LOCF", "LINEAR"];
const PAGE = 20;
/** Buckets per series the explorer asks for; far below the gateway's request budget. */
export const POINT_BUDGET = 2000;
const PALETTE = ["#3b7dd8", "#e07b00", "#2e9e5b", "#8a56c9", "#d3569b", "#5f6b7a"];

type Plotted = NonNullable<SeriesAggregateQuery["series"]>;

function SeriesSearch({ keys, onToggle }: { keys: string[]; onToggle: (key: string) => void }) {
  const [form, setForm] = useState({ kind: "", source: "", keyPrefix: "", labels: "" });
  const [filter, setFilter] = useState(form);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [labelError, setLabelError] = useState<string | null>(null);
  const after = cursors[cursors.length - 1] ?? null;
  const variables = useMemo(() => {
    let labels: unknown = null;
    if (filter.labels.trim()) labels = JSON.parse(filter.labels) as unknown;
    return {
      first: PAGE,
      after,
      filter: {
        kind: (filter.kind || null) as SeriesKind | null,
        source: filter.source || null,
        keyPrefix: filter.keyPrefix || null,
        labels,
      },
    };
  }, [filter, after]);
  const result = useLoad(JSON.stringify(variables), (s) => request(SeriesSearchDocument, variables, s));

  const submit = (e: Event) => {
    e.preventDefault();
    if (form.labels.trim()) {
      try {
        const parsed = JSON.parse(form.labels) as unknown;
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
      } catch {
        setLabelError('Labels must be a JSON object, e.g. {"region": "DE"}');
        return;
      }
    }
    setLabelError(null);
    setCursors([null]);
    setFilter(form);
  };
  const field = (name: keyof typeof form, placeholder: string) => (
    <input
      placeholder={placeholder}
      value={form[name]}
      data-testid={`filter-${name}`}
      onInput={(e) => setForm({ ...form, [name]: e.currentTarget.value })}
    />
  );

  return (
    <section class="series-list">
      <form class="filters" onSubmit={submit}>
        <select value={form.kind} data-testid="filter-kind" onChange={(e) => setForm({ ...form, kind: e.currentTarget.value })}>
          <option value="">any kind</option>
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
        {field("keyPrefix", "key prefix")}
        {field("source", "source")}
        {field("labels", 'labels {"role": "pv"}')}
        <button type="submit" data-testid="filter-apply">
          Search
        </button>
      </form>
      {labelError && <p class="status error">{labelError}</p>}
      {result.state === "loading" && <Loading what="series" />}
      {result.state === "error" && <ErrorBox error={result.error} />}
      {result.state === "ready" && (
        <>
          {result.data.seriesList.nodes.length === 0 && <Empty>No series match.</Empty>}
          <table data-testid="series-table">
            <tbody>
              {result.data.seriesList.nodes.map((n) => (
                <tr key={n.key}>
                  <td>
                    <input type="checkbox" checked={keys.includes(n.key)} data-testid={`pick-${n.key}`} onChange={() => onToggle(n.key)} />
                  </td>
                  <td title={n.name}>
                    {n.key}
                    <br />
                    <small>
                      {n.kind} · {n.unit} · {n.resolution ?? "irregular"} · {n.source ?? "no source"}
                    </small>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <div class="pager">
            <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
              Previous page
            </button>
            <button
              type="button"
              disabled={!result.data.seriesList.pageInfo.hasNextPage}
              onClick={() => setCursors([...cursors, result.data.seriesList.pageInfo.endCursor ?? null])}
            >
              Next page
            </button>
          </div>
        </>
      )}
    </section>
  );
}

function SamplesTable({ keyName, range, tz }: { keyName: string; range: Range; tz: string }) {
  const vars = { key: keyName, from: toRfc3339(range.from, tz), to: toRfc3339(range.to, tz), limit: 200 };
  const result = useLoad(JSON.stringify(vars), (s) => request(SeriesSamplesDocument, vars, s));
  if (result.state === "loading") return <Loading what="raw samples" />;
  if (result.state === "error") return <ErrorBox error={result.error} />;
  const samples = result.data.series?.samples;
  if (!samples || samples.timestamps.length === 0) return <Empty>No raw samples of {keyName} in this range.</Empty>;
  return (
    <>
      <p class="zone">
        Raw samples of {keyName} ({result.data.series?.unit}){samples.truncated ? ", the first 200 (zoom in for the rest)" : ""}
      </p>
      <div class="samples">
      <table data-testid="samples-table" data-rows={samples.timestamps.length}>
        <thead>
          <tr>
            <th>Time ({tz})</th>
            <th>Value</th>
          </tr>
        </thead>
        <tbody>
          {samples.timestamps.map((t, i) => (
            <tr key={t}>
              <td>{formatTime(Date.parse(t), tz)}</td>
              <td class="num">{formatNumber(samples.values[i], 3)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
    </>
  );
}

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function Plot({ plotted, range, tz, every, onZoom }: { plotted: Plotted[]; range: Range; tz: string; every: string; onZoom: (r: Range) => void }) {
  const { data, series, axes, x } = useMemo(() => {
    const data = alignColumns(plotted.map((p) => ({ starts: p.aggregate.starts, values: p.aggregate.avg })));
    const x = data[0] as number[];
    const units = [...new Set(plotted.map((p) => p.unit))];
    const series = plotted.map(
      (p, i): uPlot.Series => ({
        label: `${p.key} (${p.unit})`,
        stroke: PALETTE[i % PALETTE.length]!,
        width: 1.5,
        scale: p.unit,
        points: { show: false },
        value: (_u, v) => formatWithUnit(v, p.unit, 3),
      }),
    );
    const axes = units.map((u, i): uPlot.Axis => ({ scale: u, label: u, side: i === 0 ? 3 : 1, grid: { show: i === 0 }, values: (_u, t) => t.map((v) => formatNumber(v, 1)) }));
    return { data, series, axes, x };
  }, [plotted]);

  const exportCsv = () => {
    const header = ["time", ...plotted.map((p) => `${p.key} avg (${p.unit})`)];
    const rows = x.map((t, i) => [toRfc3339(t * 1000, tz), ...data.slice(1).map((col) => col[i] ?? null)]);
    download(`series-${toRfc3339(range.from, tz).slice(0, 10)}-${every}.csv`, csv([header, ...rows]));
  };

  return (
    <>
      <Chart
        testid="chart-series-main"
        tz={tz}
        data={data}
        series={series}
        axes={axes}
        points={x.length}
        height={360}
        onZoom={(from, to) => onZoom({ from, to })}
        scales={{ x: { time: true, range: () => [range.from / 1000, range.to / 1000] } }}
      />
      <button type="button" data-testid="download-csv" onClick={exportCsv}>
        Download CSV ({x.length} rows)
      </button>
    </>
  );
}

export function SeriesView({ params }: { params: URLSearchParams }) {
  const keys = (params.get("keys") ?? "").split(",").filter(Boolean);
  const from = parseRfc3339(params.get("from"));
  const to = parseRfc3339(params.get("to"));
  const fillParam = params.get("fill") as Fill | null;
  const fill: Fill = fillParam && FILLS.includes(fillParam) ? fillParam : "NONE";
  const [tableKey, setTableKey] = useState<string | null>(null);

  // Without a range, show the last week of the first series' data.
  const extent = useLoad(keys.length && (from === null || to === null) ? `extent:${keys[0]}` : null, (s) =>
    request(SeriesExtentDocument, { key: keys[0]! }, s),
  );
  const tz = "UTC" === params.get("tz") ? "UTC" : (extent.state === "ready" && extent.data.series?.timezone) || "Europe/Berlin";
  let range: Range | null = from !== null && to !== null && to > from ? { from, to } : null;
  if (!range && extent.state === "ready") {
    const last = extent.data.series?.lastTimestamp ? Date.parse(extent.data.series.lastTimestamp) + 1 : Date.now();
    range = { from: last - 7 * 86_400_000, to: last };
  }
  const everyParam = params.get("every");
  const every = range ? (isDuration(everyParam) ? everyParam : chooseEvery(range, POINT_BUDGET)) : "";
  const state = (r: Range | null, k: string[], e: string, f: Fill) =>
    href("/series", {
      keys: k.join(","),
      from: r ? toRfc3339(r.from, tz) : null,
      to: r ? toRfc3339(r.to, tz) : null,
      every: r ? e : null,
      fill: f === "NONE" ? null : f,
    });
  const url = state(range, keys, every, fill);
  if (range && (from === null || everyParam !== every)) navigate(url, true);

  const plots = useLoad(range && keys.length ? url : null, (s) =>
    Promise.all(keys.map((key) => request(SeriesAggregateDocument, { key, from: toRfc3339(range!.from, tz), to: toRfc3339(range!.to, tz), every, fill }, s))),
  );

  const toggle = (key: string) => {
    const next = keys.includes(key) ? keys.filter((k) => k !== key) : [...keys, key];
    navigate(state(next.length ? range : null, next, every, fill));
  };
  const zoom = (r: Range) => navigate(state(r, keys, chooseEvery(r, POINT_BUDGET), fill));
  const plotted = plots.state === "ready" ? plots.data.map((d) => d.series).filter((s): s is Plotted => s !== null) : [];
  const shownKey = tableKey && keys.includes(tableKey) ? tableKey : keys[0];

  return (
    <div class="view series series-layout" data-testid="view-series">
      <SeriesSearch keys={keys} onToggle={toggle} />
      <section>
        {keys.length === 0 && <Empty>Pick one or more series on the left to plot them.</Empty>}
        {keys.length > 0 && range && (
          <>
            <div class="toolbar">
              <span>
                {formatTime(range.from, tz)} – {formatTime(range.to, tz)}, every <strong data-testid="series-every">{every}</strong> (≤ {formatNumber(POINT_BUDGET, 0)} buckets per series)
              </span>
              <label>
                Fill{" "}
                <select value={fill} data-testid="fill-select" onChange={(e) => navigate(state(range, keys, every, e.currentTarget.value as Fill))}>
                  {FILLS.map((f) => (
                    <option key={f} value={f}>
                      {f}
                    </option>
                  ))}
                </select>
              </label>
              <button type="button" data-testid="zoom-out" onClick={() => {
                const half = (range.to - range.from) / 2;
                zoom({ from: Math.round(range.from - half), to: Math.round(range.to + half) });
              }}>
                Zoom out
              </button>
              <span class="zone">Drag across the chart to zoom in.</span>
            </div>
            {plots.state === "loading" && <Loading what="aggregates" />}
            {plots.state === "error" && <ErrorBox error={plots.error} />}
            {plots.state === "ready" && plotted.length < keys.length && <Empty>Some series do not exist: {keys.filter((k) => !plotted.some((p) => p.key === k)).join(", ")}</Empty>}
            {plots.state === "ready" && plotted.length > 0 && <Plot plotted={plotted} range={range} tz={tz} every={every} onZoom={zoom} />}
            {shownKey && (
              <>
                <h2 class="chart-title">
                  Raw samples{" "}
                  {keys.length > 1 && (
                    <select value={shownKey} onChange={(e) => setTableKey(e.currentTarget.value)}>
                      {keys.map((k) => (
                        <option key={k}>{k}</option>
                      ))}
                    </select>
                  )}
                </h2>
                <SamplesTable keyName={shownKey} range={range} tz={tz} />
              </>
            )}
          </>
        )}
        {keys.length > 0 && !range && extent.state === "loading" && <Loading what="the series' time range" />}
        {extent.state === "error" && <ErrorBox error={extent.error} />}
      </section>
    </div>
  );
}
