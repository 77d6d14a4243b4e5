// Numbers and times for the reader's locale; units are always shown next to the figure.

const numberFormats = new Map<string, Intl.NumberFormat>();

function numberFormat(digits: number, locale?: string): Intl.NumberFormat {
  const id = `${locale ?? ""}|${digits}`;
  let f = numberFormats.get(id);
  if (!f) {
    f = new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits });
    numberFormats.set(id, f);
  }
  return f;
}

/** `value` with thousands separators and `digits` decimals; an en dash for a missing value. */
export function formatNumber(value: number | null | undefined, digits = 1, locale?: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return numberFormat(digits, locale).format(value);
}

/** A fraction (0-1) as a percentage. */
export function formatPercent(fraction: number | null | undefined, digits = 1, locale?: string): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return "–";
  return `${formatNumber(fraction * 100, digits, locale)} %`;
}

export function formatWithUnit(value: number | null | undefined, unit: string, digits = 1, locale?: string): string {
  const text = formatNumber(value, digits, locale);
  return text === "–" ? text : `${text} ${unit}`;
}

const timeFormats = new Map<string, Intl.DateTimeFormat>();

export type TimeStyle = "minute" | "day" | "month";

const TIME_STYLES: Record<TimeStyle, Intl.DateTimeFormatOptions> = {
  minute: { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" },
  day: { weekday: "short", year: "numeric", month: "2-digit", day: "2-digit" },
  month: { year: "numeric", month: "long" },
};

/** An instant on the wall clock of `tz`, with the zone's abbreviation for minute precision. */
export function formatTime(instant: number, tz: string, style: TimeStyle = "minute", locale?: string): string {
  const id = `${locale ?? ""}|${tz}|${style}`;
  let f = timeFormats.get(id);
  if (!f) {
    const options: Intl.DateTimeFormatOptions = { ...TIME_STYLES[style], timeZone: tz };
    if (style === "minute") options.timeZoneName = "short";
    f = new Intl.DateTimeFormat(locale, options);
    timeFormats.set(id, f);
  }
  return f.format(new Date(instant));
}

const axisFormats = new Map<string, Intl.DateTimeFormat>();

function axisFormat(tz: string, options: Intl.DateTimeFormatOptions, locale?: string): Intl.DateTimeFormat {
  const id = `${locale ?? ""}|${tz}|${JSON.stringify(options)}`;
  let f = axisFormats.get(id);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, { ...options, timeZone: tz });
    axisFormats.set(id, f);
  }
  return f;
}

/** A time axis tick: the time of day for sub-day steps (with the date under midnight), the
 * date for daily steps, month and year beyond. */
export function axisTimeLabel(instant: number, stepMs: number, tz: string, locale?: string): string {
  const d = new Date(instant);
  if (stepMs >= 28 * 86_400_000) return axisFormat(tz, { year: "numeric", month: "short" }, locale).format(d);
  const date = axisFormat(tz, { weekday: "short", day: "2-digit", month: "2-digit" }, locale).format(d);
  if (stepMs >= 86_400_000) return date;
  const time = axisFormat(tz, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }, locale).format(d);
  return time === "00:00" ? `${time}\n${date}` : time;
}

/** The zone's short name at `instant` (e.g. "CEST", "GMT+2"), for axis captions. */
export function zoneName(instant: number, tz: string, locale?: string): string {
  const part = new Intl.DateTimeFormat(locale, { timeZone: tz, timeZoneName: "short" })
    .formatToParts(new Date(instant))
    .find((p) => p.type === "timeZoneName");
  return part?.value ?? tz;
}

/** One CSV field: quoted when it holds a separator, quote or line break. */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "";
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csv(rows: readonly (readonly (string | number | null | undefined)[])[]): string {
  return rows.map((r) => r.map(csvField).join(",")).join("\r\n") + "\r\n";
}
