// The period picker shared by the site and market views: day / week / month / year / custom,
// previous / next, and "today" in the view's time zone.
import { useState } from "preact/hooks";
import { instantOf, kindOf, periodContaining, type PeriodKind, type Range, shiftPeriod, wallOf } from "./time";

const KINDS: readonly Exclude<PeriodKind, "custom">[] = ["day", "week", "month", "year"];

function localInput(instant: number, tz: string): string {
  const w = wallOf(instant, tz);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${w.year}-${p(w.month)}-${p(w.day)}T${p(w.hour)}:${p(w.minute)}`;
}

function fromLocalInput(text: string, tz: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute] = m.slice(1).map(Number) as [number, number, number, number, number];
  return instantOf({ year, month, day, hour, minute }, tz);
}

export function PeriodPicker(props: { range: Range; tz: string; onChange: (range: Range) => void }) {
  const { range, tz, onChange } = props;
  const kind = kindOf(range, tz);
  const [custom, setCustom] = useState(kind === "custom");
  const [draft, setDraft] = useState({ from: localInput(range.from, tz), to: localInput(range.to, tz) });

  const applyCustom = (event: Event) => {
    event.preventDefault();
    const from = fromLocalInput(draft.from, tz);
    const to = fromLocalInput(draft.to, tz);
    if (from !== null && to !== null && to > from) onChange({ from, to });
  };

  return (
    <div class="period" data-testid="period-picker">
      <div class="segmented" role="group" aria-label="Period">
        {KINDS.map((k) => (
          <button
            type="button"
            key={k}
            aria-pressed={kind === k && !custom}
            data-testid={`period-${k}`}
            onClick={() => {
              setCustom(false);
              onChange(periodContaining(k, range.from, tz));
            }}
          >
            {k[0]!.toUpperCase() + k.slice(1)}
          </button>
        ))}
        <button
          type="button"
          aria-pressed={custom || kind === "custom"}
          data-testid="period-custom"
          onClick={() => {
            setDraft({ from: localInput(range.from, tz), to: localInput(range.to, tz) });
            setCustom(true);
          }}
        >
          Custom
        </button>
      </div>
      <div class="segmented" role="group" aria-label="Move">
        <button type="button" data-testid="period-prev" aria-label="Previous period" onClick={() => onChange(shiftPeriod(kind, range, -1, tz))}>
          ◀
        </button>
        <button
          type="button"
          data-testid="period-today"
          onClick={() => onChange(periodContaining(kind === "custom" ? "day" : kind, Date.now(), tz))}
        >
          Today
        </button>
        <button type="button" data-testid="period-next" aria-label="Next period" onClick={() => onChange(shiftPeriod(kind, range, 1, tz))}>
          ▶
        </button>
      </div>
      {custom && (
        <form class="custom" onSubmit={applyCustom}>
          <label>
            From <input type="datetime-local" value={draft.from} onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })} />
          </label>
          <label>
            To <input type="datetime-local" value={draft.to} onInput={(e) => setDraft({ ...draft, to: e.currentTarget.value })} />
          </label>
          <button type="submit">Apply</button>
        </form>
      )}
      <span class="zone" data-testid="period-zone">
        {tz}
      </span>
    </div>
  );
}
