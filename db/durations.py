"""ISO-8601 durations: the one parser of the project, and timedelta <-> ISO text.

`parse_iso_duration` reads `PnYnMnWnDTnHnMnS` (each part optional, at least one present; only
seconds may have a decimal fraction) into its parts. Callers pick what they accept:

- `parse_duration`: fixed-length durations as a timedelta; years and months have no fixed length,
  so they are refused (a series' integration gap, the spread of an ENERGY sample);
- `db.intervals.parse_every`: the bucket widths of reads;
- a series' `resolution`: any duration without a fraction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

__all__ = ["IsoDuration", "format_duration", "parse_duration", "parse_iso_duration"]

_ISO = re.compile(
    r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)


@dataclass(frozen=True)
class IsoDuration:
    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: float = 0.0
    fraction: bool = False  # the seconds were written with a decimal point

    @property
    def calendar(self) -> bool:
        """Has parts without a fixed length (years, months)."""
        return bool(self.years or self.months)

    @property
    def clock_only(self) -> bool:
        """Only hours, minutes and seconds (a `PT...` duration)."""
        return not (self.calendar or self.weeks or self.days)

    def fixed(self) -> timedelta:
        assert not self.calendar, "years and months have no fixed length"
        return timedelta(
            weeks=self.weeks,
            days=self.days,
            hours=self.hours,
            minutes=self.minutes,
            seconds=self.seconds,
        )


def parse_iso_duration(value: str) -> IsoDuration | None:
    """The parts of `value` (exactly as written: upper case, no spaces), or None."""
    match = _ISO.match(value)
    if match is None:
        return None
    y, mo, w, d, h, mi, s = match.groups()
    return IsoDuration(
        years=int(y or 0),
        months=int(mo or 0),
        weeks=int(w or 0),
        days=int(d or 0),
        hours=int(h or 0),
        minutes=int(mi or 0),
        seconds=float(s or 0),
        fraction=s is not None and "." in s,
    )


def parse_duration(value: str) -> timedelta | None:
    """The length of `value`, or None when it is not a fixed-length ISO-8601 duration."""
    parsed = parse_iso_duration(value.strip().upper())
    if parsed is None or parsed.calendar:
        return None
    return parsed.fixed()


def format_duration(value: timedelta) -> str:
    """`value` as an ISO-8601 duration, e.g. PT30M or P1DT2H."""
    total = value.total_seconds()
    days, rest = divmod(int(total), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    fraction = total - int(total)
    out = "P" + (f"{days}D" if days else "")
    clock = (
        (f"{hours}H" if hours else "")
        + (f"{minutes}M" if minutes else "")
        + (f"{seconds + fraction:g}S" if seconds or fraction else "")
    )
    if clock:
        out += "T" + clock
    return out if out != "P" else "PT0S"
