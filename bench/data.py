"""Deterministic benchmark data: the same seed always yields the same series and samples."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

__all__ = ["Columns", "make_columns", "ms"]

STEP_MS = 15 * 60 * 1000


@dataclass(frozen=True)
class Columns:
    key: str
    millis: npt.NDArray[np.int64]  # epoch milliseconds, strictly increasing
    values: npt.NDArray[np.float64]

    def changed_half(self) -> Columns:
        """Every second value moved, for re-ingest: half the rows change, half do not."""
        values = self.values.copy()
        values[1::2] += 1.0
        return Columns(self.key, self.millis, values)


def ms(t: datetime) -> int:
    return (t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def make_columns(key: str, start: datetime, points: int, seed: int) -> Columns:
    """A 15-minute series: a daily sine plus seeded noise (power-like, kW)."""
    millis = ms(start) + STEP_MS * np.arange(points, dtype=np.int64)
    hours = (millis // 3_600_000 % 24).astype(np.float64)
    noise = np.random.default_rng(seed).normal(0.0, 0.5, points)
    values = np.round(10 + 5 * np.sin(hours / 24 * 2 * np.pi) + noise, 3)
    return Columns(key, millis, values)
