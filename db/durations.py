"""ISO-8601 durations of fixed length (weeks, days, hours, minutes, seconds) <-> timedelta.

Years and months have no fixed length, so they are refused where a length is needed
(a series' integration gap, the spread of an ENERGY sample).
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["format_duration", "parse_duration"]

_FIXED = re.compile(
    r"^P(?!$)(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(value: str) -> timedelta | None:
    """The length of `value`, or None when it is not a fixed-length ISO-8601 duration."""
    match = _FIXED.match(value.strip().upper())
    if match is None:
        return None
    w, d, h, m, s = match.groups()
    return timedelta(
        weeks=int(w or 0),
        days=int(d or 0),
        hours=int(h or 0),
        minutes=int(m or 0),
        seconds=float(s or 0),
    )


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
