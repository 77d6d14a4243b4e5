// End-to-end checks of the dashboard in a real browser against a running gateway with the
// demo data: BASE_URL=http://127.0.0.1:8000 node e2e/run.mjs. Screenshots of every view go to
// SCREENSHOT_DIR (default e2e/screenshots). Exits 1 if any check fails.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { launch } from "./browser.mjs";

const BASE = process.env.BASE_URL ?? "http://127.0.0.1:8000";
const SHOTS = process.env.SCREENSHOT_DIR ?? join(import.meta.dirname, "screenshots");
mkdirSync(SHOTS, { recursive: true });

const WEEK = { from: "2025-10-20T00:00:00+02:00", to: "2025-10-27T00:00:00+01:00" };
const DST_DAY = { from: "2025-10-26T00:00:00+02:00", to: "2025-10-27T00:00:00+01:00" };
const KPIS = [
  "production", "consumption", "gridImport", "gridExport", "selfConsumptionRate",
  "autarky", "importCost", "feedInRevenue", "savings", "co2Import",
];

const q = (params) => new URLSearchParams(params).toString();

async function api(query, variables) {
  const response = await fetch(`${BASE}/graphql`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

async function drawn(page, testid) {
  const chart = page.getByTestId(testid);
  await chart.locator("canvas").waitFor({ timeout: 20_000 });
  await page.waitForSelector(`[data-testid="${testid}"][data-drawn="true"]`, { timeout: 20_000 });
  return Number(await chart.getAttribute("data-points"));
}

const checks = [];
// `allow`: console errors the check provokes on purpose (e.g. the browser logging a 401).
const check = (name, fn, allow = null) => checks.push({ name, fn, allow });

check("site week: cards equal the API's totals", async (page) => {
  await page.goto(`${BASE}/site/demo?${q({ ...WEEK, every: "P1D" })}`);
  assert.equal(await drawn(page, "chart-site-energy"), 7);
  const data = await api(
    `query($from: DateTime!, $to: DateTime!) { site(key: "demo") { kpis(from: $from, to: $to, every: "P1D") {
      total { ${KPIS.join(" ")} } } } }`,
    WEEK,
  );
  for (const name of KPIS) {
    const shown = await page.getByTestId(`kpi-${name}`).getAttribute("data-value");
    const expected = data.site.kpis.total[name];
    assert.equal(shown === "" ? null : Number(shown), expected, `kpi-${name}`);
  }
  await page.screenshot({ path: join(SHOTS, "site-week.png"), fullPage: true });
});

check("site DST day: 25 hourly bars on 2025-10-26", async (page) => {
  await page.goto(`${BASE}/site/demo?${q({ ...DST_DAY, every: "PT1H" })}`);
  assert.equal(await drawn(page, "chart-site-energy"), 25);
  await page.screenshot({ path: join(SHOTS, "site-dst-day.png"), fullPage: true });
});

check("site period picker: next day, week, month, year; the URL follows", async (page) => {
  await page.goto(`${BASE}/site/demo?${q({ ...DST_DAY, every: "PT1H" })}`);
  await drawn(page, "chart-site-energy");
  await page.getByTestId("period-next").click();
  await page.waitForURL((u) => u.searchParams.get("from") === "2025-10-27T00:00:00+01:00");
  assert.equal(await drawn(page, "chart-site-energy"), 24);
  await page.getByTestId("period-week").click();
  await page.waitForURL((u) => u.searchParams.get("every") === "P1D");
  assert.equal(await drawn(page, "chart-site-energy"), 7);
  await page.getByTestId("period-month").click();
  await page.waitForURL((u) => u.searchParams.get("from") === "2025-10-01T00:00:00+02:00");
  assert.equal(await drawn(page, "chart-site-energy"), 31);
  // October starts five days before the demo data: the warnings sit on the figures they
  // concern, one line per code and quantity, the five empty days folded into it.
  const price = page.getByTestId("kpi-importCost").locator('[data-code="MISSING_PRICE"]');
  assert.equal(await price.count(), 1);
  assert.match(await price.innerText(), /in 5 buckets/);
  assert.equal(await page.getByTestId("kpi-co2Import").locator('[data-code="MISSING_INTENSITY"]').count(), 1);
  assert.equal(await page.locator('.general-warnings [data-code="LOW_COVERAGE"]').count(), 3);
  await page.screenshot({ path: join(SHOTS, "site-month-warnings.png"), fullPage: true });
  await page.getByTestId("period-year").click();
  await page.waitForURL((u) => u.searchParams.get("every") === "P1M");
  assert.equal(await drawn(page, "chart-site-energy"), 12);
});

check("root opens the first site's current week", async (page) => {
  await page.goto(`${BASE}/`);
  await page.waitForURL((u) => u.pathname === "/site/demo" && u.searchParams.has("from"));
  await page.getByTestId("kpi-production").waitFor();
  // Today is past the demo data: the empty state leads to the week of the latest samples.
  await page.getByTestId("latest-data").click();
  await page.waitForURL((u) => u.searchParams.get("from") === "2025-10-27T00:00:00+01:00");
  assert.equal(await drawn(page, "chart-site-energy"), 7);
});

check("an unknown site lists the sites there are", async (page) => {
  await page.goto(`${BASE}/site/nope`);
  await page.getByTestId("empty").getByRole("link", { name: /demo-fixed/ }).click();
  await page.waitForURL((u) => u.pathname === "/site/demo-fixed" && u.searchParams.get("every") === "P1D");
  await page.getByTestId("kpi-production").waitFor();
});

// Forecasts (FORECASTS=1): the test has issued the demo site's PV and load forecasts at noon
// before the 25-hour day (tests/frontend/test_browser.py), so the day has them, latest and D+1.
if (process.env.FORECASTS) {
  check("site DST day: the forecast overlay draws what the API returns, and toggles", async (page) => {
    await page.goto(`${BASE}/site/demo?${q({ ...DST_DAY, every: "PT1H" })}`);
    await drawn(page, "chart-site-energy");
    const overlay = page.getByTestId("forecast-overlay");
    await overlay.waitFor({ timeout: 20_000 });
    const model = await overlay.getAttribute("data-model");
    const keys = (await overlay.getAttribute("data-series")).split(",");
    assert.deepEqual(keys.sort(), [`forecast:demo:load:power:${model}`, `forecast:demo:pv:power:${model}`]);
    // The same buckets as the bars, each fully covered by the 48-hour forecast.
    const data = await api(
      `query($from: DateTime!, $to: DateTime!) { series(key: "${keys[1]}") {
        energy(from: $from, to: $to, every: "PT1H", timezone: "Europe/Berlin") { kwh coverage } } }`,
      DST_DAY,
    );
    assert.equal(data.series.energy.kwh.length, 25);
    assert.ok(data.series.energy.coverage.every((c) => c === 1), "the forecast covers the day");
    assert.equal(Number(await overlay.getAttribute("data-points")), 25);
    await page.waitForSelector('[data-testid="chart-site-energy"][data-drawn="true"]');
    const legend = page.getByTestId("chart-site-energy").locator(".u-legend");
    assert.match(await legend.innerText(), /PV forecast[\s\S]*Load forecast/);
    // The D+1 series of the same issue: as many buckets again, dotted.
    await page.getByTestId("forecast-day-ahead").check();
    await page.waitForFunction(() => document.querySelector('[data-testid="forecast-overlay"]').dataset.series.split(",").length === 4);
    await drawn(page, "chart-site-energy");
    assert.match(await legend.innerText(), /PV forecast \(D\+1\)/);
    await page.screenshot({ path: join(SHOTS, "site-forecast.png"), fullPage: true });
    await page.getByTestId("forecast-toggle").uncheck();
    await page.waitForSelector('[data-testid="forecast-overlay"][data-model=""]');
    await drawn(page, "chart-site-energy");
    assert.doesNotMatch(await legend.innerText(), /forecast/);
  });

}

if (process.env.FORECASTS && process.env.SCENARIOS) {
  check("a site without forecasts: no overlay, no error", async (page) => {
    const requests = [];
    page.on("requestfinished", (r) => new URL(r.url()).pathname === "/graphql" && requests.push(r));
    // A scenario's site: its own PV and load series, which nothing forecasts.
    await page.goto(`${BASE}/site/scenario:${process.env.SCENARIOS.split(",")[0]}?${q({ ...WEEK, every: "P1D" })}`);
    await drawn(page, "chart-site-energy");
    // Sites, KPIs, then the (empty) forecasts after the first draw.
    await page.waitForFunction(() => performance.getEntriesByType("resource").filter((e) => e.name.endsWith("/graphql")).length >= 3);
    await page.waitForLoadState("networkidle");
    assert.equal(requests.length, 3);
    assert.equal(await page.getByTestId("forecast-overlay").count(), 0);
    assert.equal(await page.locator('[role="alert"]').count(), 0);
  });
}

// Scenarios (SCENARIOS=<done>,<failed>): computed by the scenario service before the run.
if (process.env.SCENARIOS) {
  const [done, failed] = process.env.SCENARIOS.split(",");
  check("scenario: linked from its site; KPIs next to the base site's, as the API gives them", async (page) => {
    await page.goto(`${BASE}/site/demo?${q({ ...WEEK, every: "P1D" })}`);
    await page.getByTestId(`scenario-link-${done}`).click();
    await page.waitForURL((u) => u.pathname === `/scenario/${done}`);
    assert.equal(await page.getByTestId("scenario-status").getAttribute("data-value"), "DONE");
    await page.getByTestId("scenario-comparison").waitFor();
    const { scenario } = await api(`{ scenario(key: "${done}") { from to site { key } } }`);
    const kpis = (key) => `site(key: "${key}") { kpis(from: $from, to: $to, every: "P1D") { total { ${KPIS.join(" ")} coverage priceCoverage intensityCoverage } } }`;
    const data = await api(
      `query($from: DateTime!, $to: DateTime!) { what: ${kpis(scenario.site.key)} base: ${kpis("demo")} }`,
      { from: scenario.from, to: scenario.to },
    );
    const number = (text) => (text === "" ? null : Number(text));
    for (const name of KPIS) {
      const row = page.getByTestId(`scenario-kpi-${name}`);
      assert.equal(number(await row.getAttribute("data-value")), data.what.kpis.total[name], `scenario ${name}`);
      assert.equal(number(await row.getAttribute("data-base-value")), data.base.kpis.total[name], `base ${name}`);
    }
    assert.equal(Number(await page.getByTestId("scenario-coverage-autarky").getAttribute("data-value")), data.what.kpis.total.coverage);
    assert.equal(Number(await page.getByTestId("base-coverage-importCost").getAttribute("data-value")), data.base.kpis.total.priceCoverage);
    // A 10 kWh battery raises autarky: the difference is shown in percentage points.
    const autarky = page.getByTestId("scenario-kpi-autarky");
    assert.ok(data.what.kpis.total.autarky > data.base.kpis.total.autarky);
    assert.match(await autarky.locator("td").last().innerText(), /^\+\d+[.,]\d pp$/);
    await page.screenshot({ path: join(SHOTS, "scenario.png"), fullPage: true });
  });

  // The gateway serves index.html for /site/..., /market/... and /series but not yet for
  // /scenario/... (gateway/frontend.py): the view is entered from the dashboard, as by a link.
  const openScenario = async (page, key) => {
    if (!page.url().startsWith(BASE)) {
      await page.goto(`${BASE}/site/demo?${q({ ...WEEK, every: "P1D" })}`);
      await page.getByTestId("view-site").waitFor();
    }
    await page.evaluate((url) => (history.pushState(null, "", url), dispatchEvent(new PopStateEvent("popstate"))), `/scenario/${encodeURIComponent(key)}`);
  };

  check("scenario states: FAILED with its message, PENDING, unknown", async (page) => {
    await openScenario(page, failed);
    const status = page.getByTestId("scenario-status");
    await page.waitForSelector('[data-testid="scenario-status"][data-value="FAILED"]');
    assert.match(await status.innerText(), /cover/);
    assert.equal(await page.getByTestId("scenario-comparison").count(), 0);
    // A changed input makes the scenario pending again until the service has run.
    const change = `mutation { upsertScenario(input: { key: "${failed}", site: "demo", from: "2024-02-01T00:00:00+01:00",
      to: "2024-02-08T00:00:00+01:00" }) { scenario { status } userErrors { code } } }`;
    const response = await fetch(`${BASE}/graphql`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${process.env.INGEST_KEY}` },
      body: JSON.stringify({ query: change }),
    });
    assert.equal((await response.json()).data.upsertScenario.scenario.status, "PENDING");
    await openScenario(page, "nope");
    assert.match(await page.getByTestId("empty").innerText(), /no scenario “nope”/);
    await openScenario(page, failed);
    await page.waitForSelector('[data-testid="scenario-status"][data-value="PENDING"]');
    assert.match(await page.getByTestId("scenario-inputs").innerText(), /2024/);
    await page.getByTestId("scenario-refresh").click();
    await page.waitForSelector('[data-testid="scenario-status"][data-value="PENDING"]');
    await page.screenshot({ path: join(SHOTS, "scenario-pending.png"), fullPage: true });
  });
}

check("market week: price, generation and intensity charts", async (page) => {
  await page.goto(`${BASE}/market/DE-LU?${q(WEEK)}`);
  // 169 hours, and the quarter-hours between them on the same axis.
  assert.equal(await drawn(page, "chart-market-price"), 169 * 4);
  assert.equal(await drawn(page, "chart-market-generation"), 169);
  assert.equal(await drawn(page, "chart-market-intensity"), 169);
  await page.screenshot({ path: join(SHOTS, "market-week.png"), fullPage: true });
});

check("series explorer: plots, zooms, shows samples and downloads CSV", async (page) => {
  await page.goto(`${BASE}/series?${q({ keys: "demo:pv:power", ...WEEK })}`);
  // 169 hours at most 2,000 buckets: PT15M, one bucket per 15-minute sample.
  await page.waitForURL((u) => u.searchParams.get("every") === "PT15M");
  const points = await drawn(page, "chart-series-main");
  assert.equal(points, 169 * 4);
  await page.getByTestId("samples-table").waitFor();
  await page.screenshot({ path: join(SHOTS, "series-explorer.png"), fullPage: true });
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("download-csv").click()]);
  const text = readFileSync(await download.path(), "utf8").trim().split(/\r\n/);
  assert.equal(text[0], "time,demo:pv:power avg (W)");
  assert.equal(text.length - 1, points);
  // Zoom by dragging across the middle of the plot: a shorter range, a finer bucket width.
  const box = await page.getByTestId("chart-series-main").locator(".u-over").boundingBox();
  await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.45, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForURL((u) => u.searchParams.get("every") === "PT1M");
  await drawn(page, "chart-series-main");
});

check("series explorer: 40,000 points in one chart (four weeks at PT1M, LINEAR fill)", async (page) => {
  const month = { from: "2025-10-06T00:00:00+02:00", to: "2025-11-03T00:00:00+01:00" };
  await page.goto(`${BASE}/series?${q({ keys: "demo:pv:power", ...month, every: "PT1M", fill: "LINEAR" })}`);
  assert.equal(await drawn(page, "chart-series-main"), (28 * 24 + 1) * 60);
  // Still responsive: a zoom right after the big draw is taken up.
  await page.getByTestId("zoom-out").click();
  await page.waitForURL((u) => u.searchParams.get("every") !== "PT1M");
});

check("series explorer: search by key prefix and pick a series", async (page) => {
  await page.goto(`${BASE}/series`);
  await page.getByTestId("filter-keyPrefix").fill("smard:4169");
  await page.getByTestId("filter-apply").click();
  await page.getByTestId("pick-smard:4169:DE-LU:hour").click();
  await page.waitForURL((u) => u.searchParams.get("keys") === "smard:4169:DE-LU:hour" && u.searchParams.has("every"));
  assert.ok((await drawn(page, "chart-series-main")) > 0);
});

// GraphiQL's schema is built into its page (the committed schema.graphql): the page never
// sends an introspection query, in development or production.
function introspections(page) {
  const sent = [];
  page.on("request", (r) => {
    if (r.method() === "POST" && /__schema|IntrospectionQuery/.test(r.postData() ?? "")) sent.push(r.url());
  });
  return sent;
}

// The run button does nothing until the query editor is up (CodeMirror loads lazily): press it
// until the query leaves (once), then wait for what the answer shows.
async function runGraphiQL(page, expect) {
  for (let attempt = 1; ; attempt += 1) {
    const sent = page.waitForRequest((r) => r.method() === "POST" && new URL(r.url()).pathname === "/graphql", { timeout: 1000 });
    await page.locator(".graphiql-execute-button").click();
    try {
      await sent;
      break;
    } catch (error) {
      if (attempt === 20) throw error;
    }
  }
  await expect.waitFor({ timeout: 20_000 });
}

async function openGraphiQL(page, url) {
  await page.goto(url);
  await page.locator(".graphiql-execute-button").waitFor({ timeout: 20_000 });
  // The schema is there at once: the documentation explorer lists the root types.
  await page.getByRole("button", { name: "Show Documentation Explorer" }).click();
  await page.locator(".graphiql-doc-explorer-root-type").first().waitFor({ timeout: 5000 });
  assert.match(await page.locator(".graphiql-doc-explorer").innerText(), /query:\s*Query/);
  await page.getByRole("button", { name: "Hide Documentation Explorer" }).click();
}

const PV_RESULT = (page) => page.locator(".graphiql-response").getByText("Demo site PV power");

check("GraphiQL renders from the deployment and runs a query", async (page) => {
  const sent = introspections(page);
  await openGraphiQL(page, `${BASE}/graphql`);
  await runGraphiQL(page, PV_RESULT(page));
  await page.screenshot({ path: join(SHOTS, "graphiql.png") });
  // Even asked to, it does not introspect: the bundled schema is the one it shows.
  await page.getByRole("button", { name: "Re-fetch GraphQL schema" }).click();
  assert.deepEqual(sent, []);
});

check(
  "a rejected API key: a clear message, a form for another, never the key in the URL",
  async (page) => {
    await page.goto(`${BASE}/series`);
    await page.evaluate(() => sessionStorage.setItem("energy-gateway.api-key", "egw_not-a-key"));
    await page.reload();
    await page.getByTestId("error-unauthenticated").waitFor();
    assert.match(await page.getByTestId("error-unauthenticated").innerText(), /read scope/);
    await page.getByTestId("key-form").waitFor();
    assert.ok(!page.url().includes("egw_"));
    await page.screenshot({ path: join(SHOTS, "api-key.png") });
    // An empty key means none: development mode lets anonymous readers in again.
    await page.getByTestId("key-input").fill("");
    await page.getByTestId("key-form").locator("button").click();
    await page.getByTestId("view-series").waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("energy-gateway.api-key")), null);
  },
  /status of 401/,
);

// Production mode (PROD_BASE_URL, with a read and an ingest-only key): the dashboard asks for a
// key, says when a key lacks the read scope, and works with a read key.
const PROD = process.env.PROD_BASE_URL;
if (PROD) {
  check(
    "production: asks for a key, refuses one without the read scope, works with a read key",
    async (page) => {
      await page.goto(`${PROD}/site/demo?${q({ ...DST_DAY, every: "PT1H" })}`);
      await page.getByTestId("error-unauthenticated").waitFor();
      await page.getByTestId("key-input").fill(process.env.INGEST_KEY);
      await page.getByTestId("key-form").locator("button").click();
      await page.getByTestId("error-forbidden").waitFor();
      assert.match(await page.getByTestId("key-form").innerText(), /lacks the read scope/);
      await page.screenshot({ path: join(SHOTS, "production-forbidden.png") });
      await page.getByTestId("key-input").fill(process.env.READ_KEY);
      await page.getByTestId("key-form").locator("button").click();
      assert.equal(await drawn(page, "chart-site-energy"), 25);
      assert.ok(!page.url().includes("egw_"));
      // GraphiQL in the same tab takes the key the dashboard stored, without asking.
      await page.goto(`${PROD}/graphql`);
      await runGraphiQL(page, PV_RESULT(page));
      assert.equal(await page.getByTestId("key-status").innerText(), "API key set for this tab.");
    },
    /status of 40[13]/,
  );

  check(
    "production GraphiQL: the bundled schema, no introspection, asks for a key, runs a query",
    async (page) => {
      const sent = introspections(page);
      const authorization = [];
      page.on("request", (r) => r.method() === "POST" && authorization.push(r.headers().authorization ?? null));
      // A query in the URL is not run: the page opens with its own tabs, and nothing is sent.
      await openGraphiQL(page, `${PROD}/graphql?query=${encodeURIComponent("{ sites { key } }")}`);
      assert.deepEqual(authorization, []);
      await runGraphiQL(page, page.getByTestId("error-unauthenticated"));
      assert.match(await page.getByTestId("error-unauthenticated").innerText(), /API key.*read scope/);
      await page.screenshot({ path: join(SHOTS, "graphiql-sign-in.png") });
      await page.getByTestId("key-input").fill(process.env.INGEST_KEY);
      await page.getByTestId("key-form").locator("button").click();
      await runGraphiQL(page, page.getByTestId("error-forbidden"));
      assert.match(await page.getByTestId("error-forbidden").innerText(), /read scope/);
      await page.getByTestId("key-input").fill(process.env.READ_KEY);
      await page.getByTestId("key-form").locator("button").click();
      await runGraphiQL(page, PV_RESULT(page));
      assert.equal(await page.getByTestId("error-unauthenticated").count(), 0);
      assert.deepEqual(authorization, [null, `Bearer ${process.env.INGEST_KEY}`, `Bearer ${process.env.READ_KEY}`]);
      await page.screenshot({ path: join(SHOTS, "graphiql-production.png") });
      // The key lives in this tab's session storage only: not in the URL, not in GraphiQL's
      // local storage (tabs, history).
      assert.ok(!page.url().includes("egw_"));
      assert.equal(await page.evaluate(() => sessionStorage.getItem("energy-gateway.api-key")), process.env.READ_KEY);
      assert.ok(!(await page.evaluate(() => JSON.stringify({ ...localStorage }))).includes(process.env.READ_KEY));
      assert.deepEqual(sent, []);
      // "Forget API key" removes it; the next query is refused again.
      await page.getByRole("button", { name: "Forget API key" }).click();
      assert.equal(await page.evaluate(() => sessionStorage.getItem("energy-gateway.api-key")), null);
      await runGraphiQL(page, page.getByTestId("error-unauthenticated"));
    },
    /status of 40[13]/,
  );
}

const browser = await launch();
let failed = 0;
try {
  for (const { name, fn, allow } of checks) {
    const page = await browser.context.newPage();
    const before = browser.problems.length;
    try {
      await fn(page);
      assert.deepEqual(browser.problems.slice(before).filter((p) => !allow?.test(p)), []);
      console.log(`ok   ${name}`);
    } catch (error) {
      failed += 1;
      console.log(`FAIL ${name}\n     ${String(error?.message ?? error).split("\n").join("\n     ")}`);
      await page.screenshot({ path: join(SHOTS, `failed-${checks.indexOf(checks.find((c) => c.name === name))}.png`), fullPage: true }).catch(() => {});
    } finally {
      await page.close();
    }
  }
  const outside = browser.requests.filter((r) => !["127.0.0.1"].includes(new URL(r.url()).hostname) && !/^(data|blob):/.test(r.url()));
  console.log(`${checks.length - failed}/${checks.length} checks passed; ${browser.requests.length} requests, ${outside.length} outside 127.0.0.1; screenshots in ${SHOTS}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
