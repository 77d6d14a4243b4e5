"""Synthetic series with known patterns for the forecasting tests and docs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from forecasting.history import History, calendar

BERLIN = "Europe/Berlin"
STEP_MS = 900_000


def weekly_load(
    start: datetime, weeks: int, noise: float, seed: int = 1
) -> tuple[History, np.ndarray]:
    """A household-like weekly profile on the local wall clock (so it moves with DST) plus
    Gaussian noise; returns the history and the noise-free pattern (the oracle)."""
    first = int(start.timestamp() * 1000)
    stamps = first + np.arange(weeks * 7 * 96, dtype=np.int64) * STEP_MS
    cal = calendar(stamps, BERLIN)
    hour = cal.minute / 60
    workday = cal.weekday < 5
    pattern = (
        0.25
        + 0.5 * np.exp(-(((hour - 19.5) / 1.5) ** 2))
        + 0.35 * workday * np.exp(-(((hour - 7) / 0.8) ** 2))
        + 0.3 * ~workday * np.exp(-(((hour - 12.5) / 2.5) ** 2))
    )
    values = pattern + np.random.default_rng(seed).normal(0, noise, len(stamps))
    return History(stamps, np.clip(values, 0, None), STEP_MS, BERLIN), pattern


def start_monday(year: int, month: int, day: int) -> datetime:
    moment = datetime(year, month, day, tzinfo=ZoneInfo(BERLIN))
    assert moment.weekday() == 0
    return moment
