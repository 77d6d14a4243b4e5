"""A source series on a regular grid: step starts (epoch ms, UTC), values (NaN where
missing), and the local calendar the profiles follow."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["DAY_MS", "WEEK_MS", "Calendar", "History", "calendar", "utc_offset_ms"]

Array = npt.NDArray[np.float64]
Stamps = npt.NDArray[np.int64]
DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS


@dataclass(frozen=True)
class Calendar:
    """Local weekday (0 = Monday) and minute of the day of each step start."""

    weekday: npt.NDArray[np.int64]
    minute: npt.NDArray[np.int64]


def utc_offset_ms(stamps: Stamps, timezone: str) -> Stamps:
    local = pd.DatetimeIndex(pd.to_datetime(stamps, unit="ms", utc=True)).tz_convert(timezone)
    naive = local.tz_localize(None)
    utc = pd.DatetimeIndex(pd.to_datetime(stamps, unit="ms"))
    return np.asarray((naive - utc) // pd.Timedelta(milliseconds=1), dtype=np.int64)


def calendar(starts_ms: Stamps, timezone: str) -> Calendar:
    local = pd.DatetimeIndex(pd.to_datetime(starts_ms, unit="ms", utc=True)).tz_convert(timezone)
    return Calendar(
        weekday=np.asarray(local.day_of_week, dtype=np.int64),
        minute=np.asarray(local.hour * 60 + local.minute, dtype=np.int64),
    )


@dataclass(frozen=True)
class History:
    starts_ms: Stamps  # regular: starts_ms[i] = starts_ms[0] + i * step_ms
    values: Array
    step_ms: int
    timezone: str = "UTC"

    @property
    def end_ms(self) -> int:
        """Start of the first step after the history: the forecast origin."""
        return int(self.starts_ms[0]) + len(self.starts_ms) * self.step_ms

    @cached_property
    def calendar(self) -> Calendar:
        return calendar(self.starts_ms, self.timezone)

    def until(self, origin_ms: int) -> History:
        """The part before `origin_ms` (what was known at that time)."""
        n = max(0, (origin_ms - int(self.starts_ms[0])) // self.step_ms)
        return History(self.starts_ms[:n], self.values[:n], self.step_ms, self.timezone)

    def at(self, stamps: Stamps) -> Array:
        """Values at these step starts; NaN outside the history."""
        index = (stamps - int(self.starts_ms[0])) // self.step_ms
        inside = (index >= 0) & (index < len(self.values))
        out = np.full(len(stamps), np.nan)
        out[inside] = self.values[index[inside]]
        return out

    def seasonal(self, stamps: Stamps, season_ms: int) -> Array:
        """y(t - k * season) with the smallest k >= 1 that lands inside the history: the last
        observed season, repeated."""
        ahead = np.maximum(stamps - self.end_ms, -1)
        k = ahead // season_ms + 1
        return self.at(stamps - k * season_ms)

    def weeks_before(self, stamps: Stamps, weeks: int) -> Array:
        """y at the same local weekday and time of day `weeks` weeks earlier (a week is
        167 or 169 hours across a DST change); NaN outside the history."""
        approx = stamps - weeks * WEEK_MS
        shift = utc_offset_ms(stamps, self.timezone) - utc_offset_ms(approx, self.timezone)
        return self.at(approx + shift)

    def future(self, horizon_ms: int) -> Stamps:
        count = horizon_ms // self.step_ms
        return self.end_ms + np.arange(count, dtype=np.int64) * self.step_ms
