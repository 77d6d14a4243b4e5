"""Forecast models (docs/forecasting.md, "Models"). Each maps a history and the future step
starts to values; physical bounds are applied by the caller (forecasting/targets.py).

Baselines (defined in docs/forecasting.md):
    persistence        last observed value held
    seasonal_daily     y(t - 24 h), the last observed day repeated
    seasonal_weekly    y(t - 168 h), the last observed week repeated
    weekly_profile     median of the last 4 weeks at the same local weekday and time of day
Stronger models:
    gbm                gradient-boosted trees (scikit-learn HistGradientBoostingRegressor)
                       on local time of day, weekday, y(t - 1 w), y(t - 2 w) and the profile
    clear_sky          PV only: clear-sky envelope x the clearness of the last day
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from forecasting.history import DAY_MS, WEEK_MS, Array, History, Stamps, calendar

__all__ = ["BASELINES", "Model", "gbm", "persistence", "profile", "seasonal_daily"]

Model = Callable[[History, Stamps], Array]
PROFILE_WEEKS = 4


def _fill(values: Array, history: History) -> Array:
    """Missing lags fall back to the history's mean (a model always answers)."""
    fallback = float(np.nanmean(history.values)) if np.isfinite(history.values).any() else 0.0
    return np.where(np.isfinite(values), values, fallback)


def persistence(history: History, stamps: Stamps) -> Array:
    finite = history.values[np.isfinite(history.values)]
    return np.full(len(stamps), finite[-1] if len(finite) else 0.0)


def seasonal_daily(history: History, stamps: Stamps) -> Array:
    return _fill(history.seasonal(stamps, DAY_MS), history)


def seasonal_weekly(history: History, stamps: Stamps) -> Array:
    return _fill(history.seasonal(stamps, WEEK_MS), history)


def _profile_raw(history: History, stamps: Stamps, weeks: int = PROFILE_WEEKS) -> Array:
    """Median of the same local weekday and time of day over the `weeks` weeks before each
    stamp (only weeks inside the history count)."""
    lags = np.column_stack([history.weeks_before(stamps, k) for k in range(1, weeks + 1)])
    seen = np.isfinite(lags).any(axis=1)
    out = np.full(len(stamps), np.nan)
    out[seen] = np.nanmedian(lags[seen], axis=1)
    return out


def profile(history: History, stamps: Stamps) -> Array:
    return _fill(_profile_raw(history, stamps), history)


def _features(history: History, stamps: Stamps) -> Array:
    cal = calendar(stamps, history.timezone)
    return np.column_stack(
        [
            cal.minute,
            cal.weekday,
            history.weeks_before(stamps, 1),
            history.weeks_before(stamps, 2),
            _profile_raw(history, stamps),
        ]
    )


def gbm(history: History, stamps: Stamps) -> Array:
    """Direct multi-horizon regression. Every feature lies at least a week before its step,
    so for horizons up to a week it is known at the origin, and the training rows (the
    history's own steps with the same features) contain no look-ahead."""
    train = history.starts_ms[history.starts_ms >= int(history.starts_ms[0]) + WEEK_MS]
    y = history.at(train)
    keep = np.isfinite(y)
    if keep.sum() < 2 * DAY_MS // history.step_ms:
        return profile(history, stamps)
    # Small trees, few rounds: as accurate as 100 trees of 31 leaves on the synthetic
    # backtest (MASE 0.74 vs 0.75) at half the fitting time (docs/forecasting.md).
    model = HistGradientBoostingRegressor(
        max_iter=50, learning_rate=0.15, max_leaf_nodes=15, random_state=0
    )
    # One thread: the fits are small, and OpenMP threads fighting over a shared CPU cost
    # more than they give (measured 4x slower under load).
    features = _features(history, train[keep])
    known = np.isfinite(features).any(axis=0)  # e.g. y(t - 2 w) in a short history
    with threadpool_limits(limits=1):
        model.fit(features[:, known], y[keep])
        predicted = model.predict(_features(history, stamps)[:, known])
    return np.asarray(predicted, dtype=np.float64)


BASELINES: dict[str, Model] = {
    "persistence": persistence,
    "seasonal_daily": seasonal_daily,
    "seasonal_weekly": seasonal_weekly,
    "weekly_profile": profile,
}
