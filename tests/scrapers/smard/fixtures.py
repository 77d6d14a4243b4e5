"""Deterministic SMARD-like data, generated in code (no recorded files needed).

Weeks start on Monday 00:00 Europe/Berlin, points are UTC epoch ms of interval starts, so the
DST weeks come out with 167/169 hourly and 668/676 quarter-hour points on their own. Values
are a daily shape plus hash noise: the same (series, timestamp, revision) always gives the
same number, which lets tests compute the expected stored values independently.
"""

from __future__ import annotations

import hashlib
import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
STEP_MS = {"hour": 3_600_000, "quarterhour": 900_000}
PRICE_FILTERS = frozenset({4169})
PV_FILTER = 4068
# Typical hourly MWh of each realised-generation filter and the load, DE.
_ENERGY_BASE = {
    1223: 9000.0, 4069: 3500.0, 4071: 5000.0, 1224: 0.0, 4067: 12000.0, 1225: 2500.0,
    4066: 4300.0, 1226: 1600.0, 4070: 900.0, 1228: 150.0, 1227: 1100.0, 410: 55000.0,
}  # fmt: skip

FIRST_WEEK = date(2025, 3, 17)


def local_ms(day: date, hour: int = 0, minute: int = 0) -> int:
    """A Europe/Berlin wall-clock instant as UTC epoch ms."""
    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)
    return int(moment.timestamp() * 1000)


# The newest chunk (week of 2025-11-03) is published until Wednesday 14:00, nulls after.
PUBLISHED_UNTIL = local_ms(date(2025, 11, 5), 14)


def monday_starts(first: date, until_ms: int) -> list[int]:
    """Chunk starts: every Monday 00:00 Berlin from `first` whose week has begun by `until_ms`."""
    starts = []
    day = first
    while (start := local_ms(day)) < until_ms:
        starts.append(start)
        day += timedelta(days=7)
    return starts


def week_points(start_ms: int, resolution: str) -> list[int]:
    """All interval starts of the week chunk beginning at start_ms."""
    monday = datetime.fromtimestamp(start_ms / 1000, BERLIN).date()
    end_ms = local_ms(monday + timedelta(days=7))
    return list(range(start_ms, end_ms, STEP_MS[resolution]))


def _noise(*parts: object) -> float:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def base_value(filter_id: int, region: str, resolution: str, ts_ms: int) -> float:
    local = datetime.fromtimestamp(ts_ms / 1000, BERLIN)
    hour = local.hour + local.minute / 60
    noise = _noise(filter_id, region, resolution, ts_ms)
    if filter_id in PRICE_FILTERS:
        price = 70 + 35 * math.sin((hour - 6) / 24 * 2 * math.pi) + 20 * noise - 8
        if noise < 0.02:
            price = -5.5 - 100 * noise  # negative prices happen on sunny, windy days
        return round(price, 2)
    if filter_id == PV_FILTER:
        # Genuine zeros at night: they must be stored, unlike nulls.
        hourly = 0.0 if hour < 6 or hour >= 20 else 9000 * math.sin((hour - 6) / 14 * math.pi)
        hourly *= 0.7 + 0.3 * noise
    else:
        hourly = _ENERGY_BASE[filter_id] * (0.85 + 0.3 * noise)
    # Energy is MWh per interval: a quarter-hour holds about a quarter of the hour.
    return round(hourly / 4 if resolution == "quarterhour" else hourly, 3)
