// First render of the site view in Chromium (cold browser profile each run): time until the
// energy chart has painted, GraphQL requests, bytes transferred, and the gzipped JavaScript the
// dashboard loaded. BASE_URL=... RUNS=5 node e2e/bench.mjs prints one JSON object.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { launch } from "./browser.mjs";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:8000";
const RUNS = Number(process.env.RUNS ?? 5);
const STATIC = join(import.meta.dirname, "../../gateway/static");
const URL_ = `${BASE}/site/demo?from=2025-10-20T00:00:00%2B02:00&to=2025-10-27T00:00:00%2B01:00&every=P1D`;

async function once() {
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    await page.goto(URL_, { waitUntil: "commit" });
    const chart = await page.waitForSelector('[data-testid="chart-site-energy"][data-drawn="true"]', { timeout: 30_000 });
    // Set by the chart's draw hook: performance.now() (ms since navigation start) at first paint.
    const drawnMs = Number(await chart.getAttribute("data-drawn-at"));
    let bytes = 0;
    const graphql = [];
    const scripts = new Set();
    for (const request of browser.requests) {
      const sizes = await request.sizes();
      bytes += sizes.requestHeadersSize + sizes.requestBodySize + sizes.responseHeadersSize + sizes.responseBodySize;
      const url = new URL(request.url());
      if (url.pathname === "/graphql") graphql.push(sizes.responseBodySize);
      if (url.pathname.endsWith(".js")) scripts.add(url.pathname);
    }
    if (browser.problems.length) throw new Error(browser.problems.join("\n"));
    return { drawnMs, requests: browser.requests.length, graphqlRequests: graphql.length, graphqlBytes: graphql.reduce((a, b) => a + b, 0), bytes, scripts: [...scripts] };
  } finally {
    await browser.close();
  }
}

// The explorer with four weeks at PT1M (40,380 buckets, LINEAR fill): one cold load.
async function bigSeries() {
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    const query = "keys=demo:pv:power&from=2025-10-06T00:00:00%2B02:00&to=2025-11-03T00:00:00%2B01:00&every=PT1M&fill=LINEAR";
    await page.goto(`${BASE}/series?${query}`, { waitUntil: "commit" });
    const chart = await page.waitForSelector('[data-testid="chart-series-main"][data-drawn="true"]', { timeout: 60_000 });
    return { points: Number(await chart.getAttribute("data-points")), drawnMs: Number(await chart.getAttribute("data-drawn-at")) };
  } finally {
    await browser.close();
  }
}

const runs = [];
for (let i = 0; i < RUNS; i += 1) runs.push(await once());
const big = await bigSeries();
const scripts = runs[0].scripts;
const js = scripts.map((path) => readFileSync(join(STATIC, path)));
const sorted = runs.map((r) => r.drawnMs).sort((a, b) => a - b);
console.log(
  JSON.stringify({
    runs: runs.map(({ scripts: _, ...r }) => r),
    medianDrawnMs: sorted[Math.floor(sorted.length / 2)],
    maxDrawnMs: sorted[sorted.length - 1],
    bigSeries: big,
    scripts,
    jsBytes: js.reduce((a, b) => a + b.length, 0),
    jsGzipBytes: js.reduce((a, b) => a + gzipSync(b, { level: 9 }).length, 0),
  }),
);
