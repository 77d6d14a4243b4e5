"""Bucket widths: ISO-8601 durations, either fixed-length or calendar-based.

Fixed widths (`PT15M`, `PT1H`, `PT6H`, ...) are elapsed time: every bucket lasts exactly
that long, aligned to local midnight of 2000-01-03 (a Monday) in the requested zone, so a
DST day has 23 or 25 hourly buckets. Calendar widths (`P1D`, `P1W`, `P1M`, `P3M`, `P1Y`)
follow the wall clock of the zone: a Berlin day is 23 h in March and 25 h in October.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from db.durations import parse_iso_duration

__all__ = ["BucketWidth", "InvalidInterval", "parse_every"]

# ISO unit -> (PostgreSQL date_trunc field, interval literal, approximate days for budgeting)
_CALENDAR: dict[str, tuple[str, str, float]] = {
    "P1D": ("day", "1 day", 1),
    "P1W": ("week", "7 days", 7),
    "P1M": ("month", "1 month", 28),
    "P3M": ("quarter", "3 months", 89),
    "P1Y": ("year", "1 year", 365),
}
MIN_FIXED = timedelta(seconds=1)
MAX_FIXED = timedelta(days=1)


class InvalidInterval(ValueError):
    code = "INVALID_INTERVAL"


@dataclass(frozen=True)
class BucketWidth:
    iso: str
    fixed: timedelta | None = None  # set for elapsed-time widths
    calendar_field: str | None = None  # date_trunc field for calendar widths
    calendar_interval: str | None = None  # PostgreSQL interval literal for calendar widths
    approx_days: float = 0.0

    @property
    def is_calendar(self) -> bool:
        return self.fixed is None

    def max_buckets(self, start: datetime, end: datetime) -> int:
        """Upper bound of buckets intersecting [start, end), for budgeting before any SQL."""
        span = (end - start).total_seconds()
        if self.fixed is not None:
            return math.ceil(span / self.fixed.total_seconds()) + 1
        return math.ceil(span / 86400 / self.approx_days) + 2


def parse_every(value: str) -> BucketWidth:
    iso = value.strip().upper()
    if iso in _CALENDAR:
        field, interval, days = _CALENDAR[iso]
        return BucketWidth(iso, calendar_field=field, calendar_interval=interval, approx_days=days)
    # Any other width is elapsed time written with hours, minutes and whole seconds only.
    parsed = parse_iso_duration(iso)
    if parsed is not None and parsed.clock_only and not parsed.fraction:
        width = parsed.fixed()
        if MIN_FIXED <= width <= MAX_FIXED:
            return BucketWidth(iso, fixed=width)
    raise InvalidInterval(
        f"invalid bucket width {value!r}: use an ISO-8601 duration from PT1S to PT24H "
        "(e.g. PT15M, PT1H) or one of P1D, P1W, P1M, P3M, P1Y"
    )
