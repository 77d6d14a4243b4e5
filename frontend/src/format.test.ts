import { describe, expect, it } from "vitest";
import { axisTimeLabel, csv, formatNumber, formatPercent, formatTime, formatWithUnit } from "./format";

describe("numbers", () => {
  it("uses the locale's separators", () => {
    expect(formatNumber(12345.678, 1, "en-US")).toBe("12,345.7");
    expect(formatNumber(12345.678, 1, "de-DE")).toBe("12.345,7");
    expect(formatNumber(0.5, 2, "de-DE")).toBe("0,50");
  });

  it("marks missing values instead of printing zero", () => {
    expect(formatNumber(null)).toBe("–");
    expect(formatNumber(Number.NaN)).toBe("–");
    expect(formatPercent(undefined)).toBe("–");
    expect(formatWithUnit(null, "kWh")).toBe("–");
  });

  it("shows ratios as percentages with the unit", () => {
    expect(formatPercent(0.3341, 1, "en-US")).toBe("33.4 %");
    expect(formatWithUnit(1499.7, "kWh", 1, "en-US")).toBe("1,499.7 kWh");
  });
});

describe("times", () => {
  it("shows the wall clock of the zone, with its abbreviation", () => {
    const t = Date.parse("2025-10-26T01:30:00Z");
    expect(formatTime(t, "Europe/Berlin", "minute", "en-GB")).toBe("26/10/2025, 02:30 CET");
    expect(formatTime(Date.parse("2025-10-26T00:30:00Z"), "Europe/Berlin", "minute", "en-GB")).toBe(
      "26/10/2025, 02:30 CEST",
    );
  });
});

describe("axis labels", () => {
  it("labels ticks on the zone's wall clock at the step's precision", () => {
    const midnight = Date.parse("2025-10-26T00:00:00+02:00");
    expect(axisTimeLabel(midnight, 3_600_000, "Europe/Berlin", "en-GB")).toBe("00:00\nSun 26/10");
    // The repeated 02:00 after the clocks go back.
    expect(axisTimeLabel(Date.parse("2025-10-26T02:00:00+01:00"), 3_600_000, "Europe/Berlin", "en-GB")).toBe("02:00");
    expect(axisTimeLabel(midnight, 86_400_000, "Europe/Berlin", "en-GB")).toBe("Sun 26/10");
    expect(axisTimeLabel(midnight, 30 * 86_400_000, "Europe/Berlin", "en-GB")).toBe("Oct 2025");
  });
});

describe("csv", () => {
  it("quotes fields that need it and leaves gaps empty", () => {
    expect(csv([["time", "a,b"], ["2025", null], ['say "hi"', 1.5]])).toBe(
      'time,"a,b"\r\n2025,\r\n"say ""hi""",1.5\r\n',
    );
  });
});
