import { describe, expect, it } from "vitest";
import { forecastLines, modelsOf } from "./forecast";
import type { SiteForecastsQuery } from "./graphql/generated";

const STARTS = ["2025-10-25T00:00:00+02:00", "2025-10-26T00:00:00+02:00", "2025-10-27T00:00:00+01:00"];

function series(key: string, labels: Record<string, string>, starts: string[], kwh: (number | null)[], coverage: number[]) {
  return { key, labels, energy: { starts, kwh, coverage } };
}

describe("forecastLines", () => {
  const data: SiteForecastsQuery = {
    pv: {
      key: "demo:pv:power",
      forecasts: [
        // Bucket starts as the API writes them in UTC: matched by instant, not by text.
        series("forecast:demo:pv:power:gbm", { forecast_of: "demo:pv:power", model: "gbm" }, ["2025-10-24T22:00:00Z", "2025-10-25T22:00:00Z", "2025-10-26T23:00:00Z"], [3.5, 2.25, 0.4], [1, 1, 0.5]),
        series("forecast:demo:pv:power:gbm:d+1", { forecast_of: "demo:pv:power", model: "gbm", horizon: "D+1" }, STARTS, [null, 2, null], [0, 1, 0]),
        series("forecast:demo:pv:power:persistence", { forecast_of: "demo:pv:power", model: "persistence" }, STARTS, [null, null, null], [0, 0, 0]),
      ],
    },
    load: { key: "demo:load:power", forecasts: [series("forecast:demo:load:power:mine", { forecast_of: "demo:load:power", model: "mine" }, STARTS, [7, 8, 9], [1, 1, 1])] },
  };

  it("aligns each forecast to the bars and leaves out buckets it barely covers", () => {
    const lines = forecastLines(data, STARTS);
    expect(lines.map((l) => [l.key, l.role, l.model, l.dayAhead, l.values])).toEqual([
      ["forecast:demo:pv:power:gbm", "pv", "gbm", false, [3.5, 2.25, null]],
      ["forecast:demo:pv:power:gbm:d+1", "pv", "gbm", true, [null, 2, null]],
      ["forecast:demo:load:power:mine", "load", "mine", false, [7, 8, 9]],
    ]);
  });

  it("has nothing when no forecast covers the period or there are none", () => {
    expect(forecastLines({ pv: { key: "x", forecasts: [] } }, STARTS)).toEqual([]);
    expect(forecastLines({}, STARTS)).toEqual([]);
  });

  it("orders models by preference, unknown ones last", () => {
    expect(modelsOf(forecastLines(data, STARTS))).toEqual(["gbm", "mine"]);
  });
});
