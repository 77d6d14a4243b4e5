// Forecast overlay of the site view: the forecast series of the site's PV and load series
// (docs/forecasting.md: labelled forecast_of and model; D+1 series also horizon "D+1"), as kWh
// per bucket on the bars' own buckets.
import type { SiteForecastsQuery } from "./graphql/generated";

export type Role = "pv" | "load";

export interface ForecastLine {
  role: Role;
  model: string;
  /** The day-ahead series (each day as forecast at noon the day before), not the latest issue. */
  dayAhead: boolean;
  key: string;
  /** kWh per bar bucket; null where the forecast does not cover the bucket. */
  values: (number | null)[];
}

/** Below this share of a bucket a forecast's sum would understate the bucket: not drawn. */
export const MIN_COVERAGE = 0.95;

/** Models in the order the overlay prefers them when several forecast the same series. */
export const MODEL_PREFERENCE = ["gbm", "clear_sky", "weekly_profile", "seasonal_daily", "seasonal_weekly", "persistence"];

function text(labels: unknown, name: string): string | null {
  const value = labels && typeof labels === "object" ? (labels as Record<string, unknown>)[name] : undefined;
  return typeof value === "string" ? value : null;
}

/** Every forecast series with data in the period, aligned to the bars' bucket starts. */
export function forecastLines(data: SiteForecastsQuery, bucketStarts: readonly string[]): ForecastLine[] {
  const index = new Map(bucketStarts.map((s, i) => [Date.parse(s), i] as const));
  const lines: ForecastLine[] = [];
  for (const role of ["pv", "load"] as const) {
    for (const f of data[role]?.forecasts ?? []) {
      const values: (number | null)[] = bucketStarts.map(() => null);
      f.energy.starts.forEach((start, j) => {
        const i = index.get(Date.parse(start));
        const kwh = f.energy.kwh[j];
        if (i !== undefined && kwh !== null && kwh !== undefined && (f.energy.coverage[j] ?? 0) >= MIN_COVERAGE) values[i] = kwh;
      });
      if (values.every((v) => v === null)) continue;
      lines.push({ role, model: text(f.labels, "model") ?? f.key, dayAhead: text(f.labels, "horizon") === "D+1", key: f.key, values });
    }
  }
  return lines;
}

/** The models with lines, preferred first (unknown models after the known, alphabetically). */
export function modelsOf(lines: readonly ForecastLine[]): string[] {
  const rank = (m: string) => {
    const i = MODEL_PREFERENCE.indexOf(m);
    return i < 0 ? MODEL_PREFERENCE.length : i;
  };
  return [...new Set(lines.map((l) => l.model))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
