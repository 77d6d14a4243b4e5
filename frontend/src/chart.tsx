// A uPlot chart in a Preact component. The wrapper carries the test hooks: `data-testid`,
// `data-points` (buckets drawn) and `data-drawn` (set once uPlot has painted).
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { axisTimeLabel, zoneName } from "./format";

export interface ChartProps {
  testid: string;
  /** Time zone of the x axis (the axis caption names it). */
  tz: string;
  /** x in epoch seconds, then one array per series. */
  data: uPlot.AlignedData;
  series: uPlot.Series[];
  axes?: uPlot.Axis[];
  /** Number of buckets drawn, for `data-points`. */
  points: number;
  height?: number;
  /** Called with the selected x range (epoch ms) after a drag selection. */
  onZoom?: (from: number, to: number) => void;
  scales?: uPlot.Scales;
  /** Called after each paint (e.g. to start requests that should not delay the first one). */
  onDrawn?: () => void;
}

export function Chart(props: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const onZoom = useRef(props.onZoom);
  onZoom.current = props.onZoom;
  const onDrawn = useRef(props.onDrawn);
  onDrawn.current = props.onDrawn;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    el.removeAttribute("data-drawn");
    // Name the zone's abbreviations at both ends: a DST change in range shows as "CEST → CET".
    const xs = props.data[0];
    const ends = [xs[0], xs[xs.length - 1]].filter((t): t is number => t !== undefined);
    const names = [...new Set(ends.map((t) => zoneName(t * 1000, props.tz)))];
    const caption = `Time (${[props.tz, names.join(" → ")].filter(Boolean).join(", ")})`;
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height: props.height ?? 320,
      padding: [12, 28, 0, 0], // room for the last tick's label
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), props.tz),
      series: [{ label: "Time" }, ...props.series],
      axes: [
        // Wall-clock labels in the reader's locale (uPlot's own are US-style).
        { label: caption, values: (_u, ticks, _s, _d, step) => ticks.map((t) => axisTimeLabel(t * 1000, step * 1000, props.tz)) },
        ...(props.axes ?? [{}]).map((a) => ({ size: 70, ...a })),
      ],
      scales: { x: { time: true }, ...props.scales },
      cursor: { drag: { x: !!props.onZoom, y: false, setScale: false } },
      hooks: {
        draw: [
          () => {
            el.setAttribute("data-drawn", "true");
            el.dataset.drawnAt ??= String(Math.round(performance.now())); // ms since navigation, for bench/
            onDrawn.current?.();
          },
        ],
        setSelect: [
          (u) => {
            if (u.select.width < 5 || !onZoom.current) return;
            const from = u.posToVal(u.select.left, "x");
            const to = u.posToVal(u.select.left + u.select.width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            onZoom.current(Math.round(from * 1000), Math.round(to * 1000));
          },
        ],
      },
    };
    plot.current = new uPlot(opts, props.data, el);
    const resize = new ResizeObserver(() => {
      plot.current?.setSize({ width: Math.max(300, el.clientWidth), height: props.height ?? 320 });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [props.data, props.series, props.axes, props.tz]);

  return <div class="chart" ref={box} data-testid={props.testid} data-points={props.points} />;
}

export interface TimeColumn {
  starts: readonly string[];
  values: readonly (number | null | undefined)[] | null | undefined;
}

/** Columns with their own bucket starts on one x axis (epoch seconds, the union of all
 * starts); a column without a value at some x gets null there. */
export function alignColumns(columns: readonly TimeColumn[]): uPlot.AlignedData {
  const seconds = columns.map((c) => c.starts.map((s) => Date.parse(s) / 1000));
  const x = [...new Set(seconds.flat())].sort((a, b) => a - b);
  const aligned = columns.map((c, j) => {
    const byTime = new Map(seconds[j]!.map((t, i) => [t, c.values?.[i] ?? null] as const));
    return x.map((t) => byTime.get(t) ?? null);
  });
  return [x, ...aligned];
}

export const COLORS = {
  solar: "#f4b400",
  selfSupply: "#f4b400",
  battery: "#2e9e5b",
  batteryCharge: "#d3569b",
  gridImport: "#3b7dd8",
  gridExport: "#8a56c9",
  production: "#e07b00",
  forecastPv: "#d62728",
  forecastLoad: "#1f2d3d",
  price: "#3b7dd8",
  priceQuarter: "#9bbcf0",
  intensity: "#5f6b7a",
};
