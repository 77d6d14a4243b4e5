// Calendar arithmetic in an IANA zone with the platform's Intl data only. Instants are epoch
// milliseconds; wall clocks are the zone's local date and time. A day is midnight to the next
// midnight on the wall clock, so it lasts 23, 24 or 25 hours.

export type PeriodKind = "day" | "week" | "month" | "year" | "custom";

export interface Wall {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export interface Range {
  from: number;
  to: number;
}

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(tz: string): Intl.DateTimeFormat {
  let f = partsFormatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    partsFormatters.set(tz, f);
  }
  return f;
}

export function isValidZone(tz: string): boolean {
  try {
    partsFormatter(tz);
    return true;
  } catch {
    return false;
  }
}

export function wallOf(instant: number, tz: string): Wall {
  const wall: Wall = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const p of partsFormatter(tz).formatToParts(new Date(instant))) {
    if (p.type in wall) wall[p.type as keyof Wall] = Number(p.value);
  }
  return wall;
}

/** Minutes the zone's wall clock is ahead of UTC at `instant` (e.g. 120 in CEST). */
export function offsetMinutes(instant: number, tz: string): number {
  const w = wallOf(instant, tz);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(instant / 1000) * 1000) / 60_000);
}

/** The instant a wall-clock time happens. A repeated time (autumn) gives its first
 * occurrence; a skipped time (spring) is read with the offset before the gap, as the
 * wall clock would show it an hour later. */
export function instantOf(wall: Partial<Wall> & Pick<Wall, "year" | "month" | "day">, tz: string): number {
  const naive = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour ?? 0, wall.minute ?? 0, wall.second ?? 0);
  // Offsets in force a day either side bracket any transition near this wall time.
  const before = naive - offsetMinutes(naive - 86_400_000, tz) * 60_000;
  const after = naive - offsetMinutes(naive + 86_400_000, tz) * 60_000;
  const valid = [before, after].filter((t) => t + offsetMinutes(t, tz) * 60_000 === naive);
  return valid.length > 0 ? Math.min(...valid) : before;
}

function pad(n: number, width = 2): string {
  return String(Math.abs(n)).padStart(width, "0");
}

/** RFC 3339 with the zone's offset at that instant, e.g. 2025-10-26T00:00:00+02:00. */
export function toRfc3339(instant: number, tz: string): string {
  const w = wallOf(instant, tz);
  const off = offsetMinutes(instant, tz);
  const sign = off < 0 ? "-" : "+";
  return (
    `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}` +
    `${sign}${pad(Math.trunc(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`
  );
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;

/** Epoch ms of an RFC 3339 timestamp with an offset; null for anything else. */
export function parseRfc3339(text: string | null | undefined): number | null {
  if (!text || !RFC3339.test(text.trim())) return null;
  const ms = Date.parse(text.trim());
  return Number.isNaN(ms) ? null : ms;
}

function addDays(w: Wall, days: number): Wall {
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day + days));
  return { ...w, year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** Monday-based ISO weekday of a calendar date, 0 = Monday. */
function weekdayIndex(w: Wall): number {
  return (new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay() + 6) % 7;
}

function startWall(kind: Exclude<PeriodKind, "custom">, w: Wall): Wall {
  const midnight = { ...w, hour: 0, minute: 0, second: 0 };
  switch (kind) {
    case "day":
      return midnight;
    case "week":
      return addDays(midnight, -weekdayIndex(midnight));
    case "month":
      return { ...midnight, day: 1 };
    case "year":
      return { ...midnight, month: 1, day: 1 };
  }
}

function shiftWall(kind: Exclude<PeriodKind, "custom">, w: Wall, n: number): Wall {
  switch (kind) {
    case "day":
      return addDays(w, n);
    case "week":
      return addDays(w, 7 * n);
    case "month": {
      const m = w.month - 1 + n;
      return { ...w, year: w.year + Math.floor(m / 12), month: (((m % 12) + 12) % 12) + 1 };
    }
    case "year":
      return { ...w, year: w.year + n };
  }
}

/** The calendar period of `kind` in `tz` that contains `instant`. */
export function periodContaining(kind: Exclude<PeriodKind, "custom">, instant: number, tz: string): Range {
  const start = startWall(kind, wallOf(instant, tz));
  return { from: instantOf(start, tz), to: instantOf(shiftWall(kind, start, 1), tz) };
}

/** The period `n` steps before (negative) or after (positive) `range`. Custom ranges move by
 * their own length. */
export function shiftPeriod(kind: PeriodKind, range: Range, n: number, tz: string): Range {
  if (kind === "custom") {
    const len = range.to - range.from;
    return { from: range.from + n * len, to: range.to + n * len };
  }
  const start = shiftWall(kind, startWall(kind, wallOf(range.from, tz)), n);
  return { from: instantOf(start, tz), to: instantOf(shiftWall(kind, start, 1), tz) };
}

/** Which calendar period `range` is exactly, or "custom". */
export function kindOf(range: Range, tz: string): PeriodKind {
  for (const kind of ["day", "week", "month", "year"] as const) {
    const p = periodContaining(kind, range.from, tz);
    if (p.from === range.from && p.to === range.to) return kind;
  }
  return "custom";
}

// Bucket widths the dashboard uses, shortest first, with their nominal length.
export const EVERY_LADDER: readonly (readonly [string, number])[] = [
  ["PT1M", 60_000],
  ["PT5M", 300_000],
  ["PT15M", 900_000],
  ["PT30M", 1_800_000],
  ["PT1H", 3_600_000],
  ["PT3H", 10_800_000],
  ["PT6H", 21_600_000],
  ["PT12H", 43_200_000],
  ["P1D", 86_400_000],
  ["P1W", 604_800_000],
  ["P1M", 2_629_746_000],
  ["P3M", 7_889_238_000],
  ["P1Y", 31_556_952_000],
];

/** The shortest ladder width that keeps `range` within `maxBuckets` buckets (at least `min`). */
export function chooseEvery(range: Range, maxBuckets: number, min = "PT1M"): string {
  const span = Math.max(0, range.to - range.from);
  const floor = EVERY_LADDER.findIndex(([name]) => name === min);
  for (const [name, ms] of EVERY_LADDER.slice(Math.max(0, floor))) {
    if (Math.ceil(span / ms) <= maxBuckets) return name;
  }
  return "P1Y";
}

/** The bar width of a site period, as the energy dashboards people know use it. */
export function everyForPeriod(kind: PeriodKind, range: Range): string {
  switch (kind) {
    case "day":
      return "PT1H";
    case "week":
    case "month":
      return "P1D";
    case "year":
      return "P1M";
    case "custom":
      return chooseEvery(range, 400, "PT1H");
  }
}

const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** Whether `text` is an ISO 8601 duration with at least one component (e.g. PT15M, P1D). */
export function isDuration(text: string | null | undefined): text is string {
  if (!text) return false;
  const m = DURATION.exec(text);
  return !!m && m.slice(1).some((g) => g !== undefined) && !text.endsWith("T");
}
