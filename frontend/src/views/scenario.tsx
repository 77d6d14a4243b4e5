// Scenario view: a what-if scenario's status and inputs, and its KPIs next to its base site's
// over the scenario's period, with the differences (docs/scenarios.md, docs/frontend.md).
import { useState } from "preact/hooks";
import { request } from "../api";
import { formatNumber, formatPercent, formatTime, formatWithUnit } from "../format";
import { type ScenarioQuery, ScenarioComparisonDocument, ScenarioDocument } from "../graphql/generated";
import { CARDS, difference, show, verdict } from "../kpis";
import { Empty, ErrorBox, Loading, useLoad } from "../query";
import { href, navigate } from "../router";

type Scenario = NonNullable<ScenarioQuery["scenario"]>;

/** Bucket width of the comparison: only the totals are shown, so few buckets suffice. */
function everyFor(scenario: Scenario): string {
  const days = (Date.parse(scenario.to) - Date.parse(scenario.from)) / 86_400_000;
  return days <= 62 ? "P1D" : "P1M";
}

function Inputs({ scenario, tz }: { scenario: Scenario; tz: string }) {
  const b = scenario.battery;
  const t = scenario.tariff;
  const rows: [string, string][] = [
    ["Period", `${formatTime(Date.parse(scenario.from), tz)} – ${formatTime(Date.parse(scenario.to), tz)}`],
    ["PV size", scenario.pvKwp === null || scenario.pvKwp === undefined ? "as measured" : formatWithUnit(scenario.pvKwp, "kWp", 1)],
    [
      "Battery",
      b
        ? `${formatWithUnit(b.capacityKwh, "kWh", 1)}, ${formatWithUnit(b.powerKw, "kW", 1)}, efficiency ${formatPercent(b.chargeEfficiency, 0)} / ${formatPercent(b.dischargeEfficiency, 0)}, SoC from ${formatPercent(b.initialSoc, 0)} (min ${formatPercent(b.minSoc, 0)})`
        : "none",
    ],
    ["Strategy", scenario.strategy === "COST_OPTIMAL" ? "cost-optimal (linear program)" : "self-consumption (greedy)"],
    [
      "Tariff",
      t
        ? t.kind === "FIXED"
          ? `fixed ${formatNumber(t.importPriceCt, 2)} ct/kWh, feed-in ${formatNumber(t.feedInCt, 2)} ct/kWh`
          : `dynamic (${t.priceSeries ?? "?"}) + ${formatNumber(t.surchargesCt, 2)} ct/kWh, feed-in ${formatNumber(t.feedInCt, 2)} ct/kWh`
        : "the base site's",
    ],
    ["Revision", `${scenario.revision}, changed ${formatTime(Date.parse(scenario.updatedAt), tz)}`],
  ];
  return (
    <table class="inputs" data-testid="scenario-inputs">
      <tbody>
        {rows.map(([name, value]) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Comparison({ scenario }: { scenario: Scenario }) {
  const siteKey = scenario.site!.key;
  const query = useLoad(`${scenario.key}|${scenario.revision}`, (signal) =>
    request(ScenarioComparisonDocument, { base: scenario.baseSiteKey, scenario: siteKey, from: scenario.from, to: scenario.to, every: everyFor(scenario) }, signal),
  );
  if (query.state === "loading") return <Loading what="KPIs of the scenario and its site" />;
  if (query.state === "error") return <ErrorBox error={query.error} />;
  const base = query.data.base?.kpis.total;
  const what = query.data.scenario?.kpis.total;
  if (!base || !what) return <Empty>The scenario's site or its base site is gone.</Empty>;
  const warnings = [...(query.data.scenario?.kpis.warnings ?? []), ...(query.data.base?.kpis.warnings ?? [])].filter((w) => w.bucket === null || w.bucket === undefined);
  return (
    <>
      <table class="comparison" data-testid="scenario-comparison">
        <thead>
          <tr>
            <th scope="col" class="label">KPI</th>
            <th scope="col">Scenario</th>
            <th scope="col">Base site ({scenario.baseSiteKey})</th>
            <th scope="col">Difference</th>
          </tr>
        </thead>
        <tbody>
          {CARDS.map((card) => {
            const d = difference(card.kind, what[card.name], base[card.name]);
            return (
              <tr key={card.name} data-testid={`scenario-kpi-${card.name}`} data-value={what[card.name] ?? ""} data-base-value={base[card.name] ?? ""} data-difference={d.value ?? ""}>
                <th scope="row">{card.label}</th>
                <td>
                  {show(card.kind, what[card.name])}
                  <span class="coverage" data-testid={`scenario-coverage-${card.name}`} data-value={what[card.coverage]}> coverage {formatPercent(what[card.coverage], 1)}</span>
                </td>
                <td>
                  {show(card.kind, base[card.name])}
                  <span class="coverage" data-testid={`base-coverage-${card.name}`} data-value={base[card.coverage]}> coverage {formatPercent(base[card.coverage], 1)}</span>
                </td>
                <td class={verdict(card.better, d)}>{d.text}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {warnings.length > 0 && (
        <ul class="warnings">
          {warnings.map((w, i) => (
            <li key={i} class={`warning ${w.level.toLowerCase()}`} data-testid="kpi-warning" data-code={w.code}>
              <strong>{w.level === "ERROR" ? "Error" : "Warning"}</strong> {w.code}: {w.message}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

const STATUS_TEXT: Record<Scenario["status"], string> = {
  PENDING: "Waiting for the scenario service to compute it.",
  RUNNING: "Being computed by the scenario service.",
  DONE: "Computed.",
  FAILED: "The computation failed.",
};

export function ScenarioView({ scenarioKey }: { scenarioKey: string }) {
  const [generation, setGeneration] = useState(0);
  const query = useLoad(`scenario:${scenarioKey}:${generation}`, (signal) => request(ScenarioDocument, { key: scenarioKey }, signal));
  if (query.state === "loading") return <Loading what="the scenario" />;
  if (query.state === "error") return <ErrorBox error={query.error} />;
  const scenario = query.data.scenario;
  if (!scenario) return <Empty>There is no scenario “{scenarioKey}”. Create one with the upsertScenario mutation (docs/scenarios.md).</Empty>;
  const tz = scenario.baseSite?.timezone ?? "UTC";
  const baseLink = href(`/site/${encodeURIComponent(scenario.baseSiteKey)}`, {});
  return (
    <div class="view scenario" data-testid="view-scenario">
      <h2>
        Scenario {scenario.key} of{" "}
        <a href={baseLink} onClick={(e) => (e.preventDefault(), navigate(baseLink))}>
          {scenario.baseSite?.name ?? scenario.baseSiteKey}
        </a>
      </h2>
      <p class={`scenario-status ${scenario.status.toLowerCase()}`} data-testid="scenario-status" data-value={scenario.status}>
        <strong>{scenario.status}</strong> {STATUS_TEXT[scenario.status]}
        {scenario.status === "FAILED" && scenario.message && <> {scenario.message}</>}
        {scenario.finishedAt && scenario.status !== "PENDING" && scenario.status !== "RUNNING" && <> Finished {formatTime(Date.parse(scenario.finishedAt), tz)}.</>}
        {(scenario.status === "PENDING" || scenario.status === "RUNNING") && (
          <>
            {" "}
            <button type="button" data-testid="scenario-refresh" onClick={() => setGeneration((g) => g + 1)}>
              Check again
            </button>
          </>
        )}
      </p>
      <Inputs scenario={scenario} tz={tz} />
      {scenario.status === "DONE" && scenario.site && <Comparison scenario={scenario} />}
    </div>
  );
}
