// The KPI figures the views show: their labels, units, coverage fields, and how a scenario's
// figure differs from its base site's.
import { formatNumber, formatPercent, formatWithUnit } from "./format";

export type Kind = "energy" | "ratio" | "money" | "co2";

export interface Card {
  name: "production" | "consumption" | "gridImport" | "gridExport" | "selfConsumptionRate" | "autarky" | "importCost" | "feedInRevenue" | "savings" | "co2Import";
  label: string;
  kind: Kind;
  coverage: "coverage" | "priceCoverage" | "intensityCoverage";
  /** Warning quantities that concern this figure. */
  quantities: string[];
  /** Which way is better for the site's owner, where one way is (colours of differences). */
  better?: "higher" | "lower";
}

export const CARDS: readonly Card[] = [
  { name: "production", label: "Production", kind: "energy", coverage: "coverage", quantities: ["production"] },
  { name: "consumption", label: "Consumption", kind: "energy", coverage: "coverage", quantities: ["consumption", "balance"] },
  { name: "gridImport", label: "Grid import", kind: "energy", coverage: "coverage", quantities: ["gridImport"], better: "lower" },
  { name: "gridExport", label: "Grid export", kind: "energy", coverage: "coverage", quantities: ["gridExport"] },
  { name: "selfConsumptionRate", label: "Self-consumption rate", kind: "ratio", coverage: "coverage", quantities: ["selfConsumptionRate"], better: "higher" },
  { name: "autarky", label: "Autarky", kind: "ratio", coverage: "coverage", quantities: ["autarky"], better: "higher" },
  { name: "importCost", label: "Import cost", kind: "money", coverage: "priceCoverage", quantities: ["importCost", "price"], better: "lower" },
  { name: "feedInRevenue", label: "Feed-in revenue", kind: "money", coverage: "coverage", quantities: ["feedInRevenue"] },
  { name: "savings", label: "Savings", kind: "money", coverage: "priceCoverage", quantities: ["savings"], better: "higher" },
  { name: "co2Import", label: "CO₂ of imports", kind: "co2", coverage: "intensityCoverage", quantities: ["co2Import", "co2"], better: "lower" },
];

export const CARD_QUANTITIES = new Set(CARDS.flatMap((c) => c.quantities));

export function show(kind: Kind, value: number | null | undefined): string {
  switch (kind) {
    case "energy":
      return formatWithUnit(value, "kWh", 1);
    case "ratio":
      return formatPercent(value, 1);
    case "money":
      return formatWithUnit(value, "EUR", 2);
    case "co2":
      return formatWithUnit(value, "kg", 1);
  }
}

export interface Difference {
  /** Scenario minus base in the figure's own unit (fractions for ratios); null if either is missing. */
  value: number | null;
  /** Signed, with its unit: ratios in percentage points ("+12.0 pp"), the rest as shown on cards. */
  text: string;
}

/** How far `scenario` is from `base` for a figure of `kind`. */
export function difference(kind: Kind, scenario: number | null | undefined, base: number | null | undefined, locale?: string): Difference {
  if (scenario === null || scenario === undefined || base === null || base === undefined) return { value: null, text: "–" };
  const value = scenario - base;
  const [scaled, digits, unit] =
    kind === "ratio" ? [value * 100, 1, "pp"] : kind === "money" ? [value, 2, "EUR"] : kind === "energy" ? [value, 1, "kWh"] : [value, 1, "kg"];
  const text = formatNumber(Math.abs(scaled), digits, locale);
  // A difference that rounds to zero carries no sign ("±0.0 pp"), not a misleading "−0.0".
  const sign = text === formatNumber(0, digits, locale) ? "±" : scaled > 0 ? "+" : "−";
  return { value, text: `${sign}${text} ${unit}` };
}

/** "better" or "worse" for a difference that is not zero on a figure with a better direction. */
export function verdict(better: Card["better"], d: Difference): string {
  if (!better || d.value === null || d.text.startsWith("±")) return "";
  return (d.value > 0) === (better === "higher") ? "better" : "worse";
}
