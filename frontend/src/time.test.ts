import { describe, expect, it } from "vitest";
import {
  chooseEvery,
  everyForPeriod,
  instantOf,
  isDuration,
  kindOf,
  parseRfc3339,
  periodContaining,
  shiftPeriod,
  toRfc3339,
} from "./time";

const BERLIN = "Europe/Berlin";
const HOUR = 3_600_000;
const at = (s: string): number => Date.parse(s);

describe("periods in a zone", () => {
  it("gives the 25-hour autumn day its 25 hours", () => {
    const day = periodContaining("day", at("2025-10-26T12:00:00+01:00"), BERLIN);
    expect(toRfc3339(day.from, BERLIN)).toBe("2025-10-26T00:00:00+02:00");
    expect(toRfc3339(day.to, BERLIN)).toBe("2025-10-27T00:00:00+01:00");
    expect((day.to - day.from) / HOUR).toBe(25);
  });

  it("gives the 23-hour spring day its 23 hours", () => {
    const day = periodContaining("day", at("2025-03-30T05:00:00+02:00"), BERLIN);
    expect(toRfc3339(day.from, BERLIN)).toBe("2025-03-30T00:00:00+01:00");
    expect((day.to - day.from) / HOUR).toBe(23);
  });

  it("starts weeks on Monday and spans the DST change", () => {
    const week = periodContaining("week", at("2025-10-26T23:30:00+01:00"), BERLIN);
    expect(toRfc3339(week.from, BERLIN)).toBe("2025-10-20T00:00:00+02:00");
    expect(toRfc3339(week.to, BERLIN)).toBe("2025-10-27T00:00:00+01:00");
    expect((week.to - week.from) / HOUR).toBe(7 * 24 + 1);
  });

  it("finds months and years on the wall clock", () => {
    const month = periodContaining("month", at("2025-10-31T23:30:00+01:00"), BERLIN);
    expect(toRfc3339(month.from, BERLIN)).toBe("2025-10-01T00:00:00+02:00");
    expect(toRfc3339(month.to, BERLIN)).toBe("2025-11-01T00:00:00+01:00");
    const year = periodContaining("year", at("2025-06-01T00:00:00Z"), BERLIN);
    expect(toRfc3339(year.from, BERLIN)).toBe("2025-01-01T00:00:00+01:00");
    expect(toRfc3339(year.to, BERLIN)).toBe("2026-01-01T00:00:00+01:00");
  });

  it("uses the instant's own calendar day, not UTC's", () => {
    // 23:30 UTC on the 25th is already the 26th in Berlin.
    const day = periodContaining("day", at("2025-10-25T23:30:00Z"), BERLIN);
    expect(toRfc3339(day.from, BERLIN)).toBe("2025-10-26T00:00:00+02:00");
  });

  it("moves by calendar steps across DST and month ends", () => {
    const day = periodContaining("day", at("2025-10-25T12:00:00+02:00"), BERLIN);
    const next = shiftPeriod("day", day, 1, BERLIN);
    expect((next.to - next.from) / HOUR).toBe(25);
    const jan = periodContaining("month", at("2025-01-31T12:00:00+01:00"), BERLIN);
    const dec = shiftPeriod("month", jan, -1, BERLIN);
    expect(toRfc3339(dec.from, BERLIN)).toBe("2024-12-01T00:00:00+01:00");
    const custom = { from: 0, to: 5 * HOUR };
    expect(shiftPeriod("custom", custom, -1, BERLIN)).toEqual({ from: -5 * HOUR, to: 0 });
  });

  it("recognises a range as a calendar period", () => {
    const day = periodContaining("day", at("2025-10-26T12:00:00+01:00"), BERLIN);
    expect(kindOf(day, BERLIN)).toBe("day");
    expect(kindOf(periodContaining("week", day.from, BERLIN), BERLIN)).toBe("week");
    expect(kindOf({ from: day.from, to: day.to - HOUR }, BERLIN)).toBe("custom");
  });

  it("resolves repeated and skipped wall times", () => {
    // 02:30 happens twice on 2025-10-26: the first is CEST.
    expect(toRfc3339(instantOf({ year: 2025, month: 10, day: 26, hour: 2, minute: 30 }, BERLIN), BERLIN)).toBe(
      "2025-10-26T02:30:00+02:00",
    );
    // 02:30 does not exist on 2025-03-30: the clock shows 03:30 CEST then.
    expect(toRfc3339(instantOf({ year: 2025, month: 3, day: 30, hour: 2, minute: 30 }, BERLIN), BERLIN)).toBe(
      "2025-03-30T03:30:00+02:00",
    );
  });

  it("handles half-hour zones", () => {
    const day = periodContaining("day", at("2025-10-26T12:00:00Z"), "Asia/Kolkata");
    expect(toRfc3339(day.from, "Asia/Kolkata")).toBe("2025-10-26T00:00:00+05:30");
    expect(toRfc3339(day.from, "UTC")).toBe("2025-10-25T18:30:00+00:00");
  });
});

describe("bucket widths", () => {
  it("keeps a range within the point budget", () => {
    const day = { from: 0, to: 24 * HOUR };
    expect(chooseEvery(day, 2000)).toBe("PT1M");
    expect(chooseEvery(day, 96)).toBe("PT15M");
    expect(chooseEvery(day, 95)).toBe("PT30M");
    expect(chooseEvery({ from: 0, to: 28 * 24 * HOUR }, 1000)).toBe("PT1H");
    expect(chooseEvery({ from: 0, to: 400 * 24 * HOUR }, 500)).toBe("P1D");
    expect(chooseEvery({ from: 0, to: 400 * 24 * HOUR }, 10, "PT1H")).toBe("P3M");
    expect(chooseEvery({ from: 0, to: HOUR }, 1000, "PT1H")).toBe("PT1H");
  });

  it("draws hourly bars for a day and daily bars for weeks and months", () => {
    const r = { from: 0, to: 24 * HOUR };
    expect(everyForPeriod("day", r)).toBe("PT1H");
    expect(everyForPeriod("week", r)).toBe("P1D");
    expect(everyForPeriod("month", r)).toBe("P1D");
    expect(everyForPeriod("year", r)).toBe("P1M");
    expect(everyForPeriod("custom", { from: 0, to: 60 * 24 * HOUR })).toBe("PT6H");
  });
});

describe("parsing URL parameters", () => {
  it("accepts RFC 3339 with an offset only", () => {
    expect(parseRfc3339("2025-10-26T00:00:00+02:00")).toBe(at("2025-10-25T22:00:00Z"));
    expect(parseRfc3339("2025-10-26T00:00:00Z")).toBe(at("2025-10-26T00:00:00Z"));
    expect(parseRfc3339("2025-10-26T00:00:00")).toBeNull();
    expect(parseRfc3339("yesterday")).toBeNull();
    expect(parseRfc3339(null)).toBeNull();
  });

  it("accepts ISO 8601 durations", () => {
    expect(isDuration("PT15M")).toBe(true);
    expect(isDuration("P1D")).toBe(true);
    expect(isDuration("P")).toBe(false);
    expect(isDuration("PT")).toBe(false);
    expect(isDuration("15m")).toBe(false);
  });
});
