"""Forecast models on data with a known pattern: the stronger models beat the seasonal naive
(MASE well below 1) and never beat the oracle; PV stays within its physical bounds."""

from __future__ import annotations

import numpy as np

from forecasting.backtest import backtest
from forecasting.history import DAY_MS, WEEK_MS, History
from forecasting.models import BASELINES, gbm
from forecasting.pv import clear_sky_model, pv_envelope
from sidecar.solar import PvSystem
from tests.forecasting.synthetic import STEP_MS, start_monday, weekly_load


def test_models_beat_the_seasonal_naive_and_not_the_oracle_across_dst() -> None:
    # Eight weeks ending after the spring DST change (2025-03-30), backtested over the last 4.
    history, pattern = weekly_load(start_monday(2025, 2, 17), weeks=8, noise=0.05)
    first = int(history.starts_ms[0])

    def oracle(past: History, stamps: np.ndarray) -> np.ndarray:
        return np.asarray(pattern[(stamps - first) // STEP_MS])

    models = {**BASELINES, "gbm": gbm, "oracle": oracle}
    scores = {
        s.model: s
        for s in backtest("load", history, models, horizon_ms=2 * DAY_MS, season_ms=WEEK_MS)
    }
    assert scores["gbm"].origins == 28
    # About 1 by construction; above it here because a UTC week misses the DST hour.
    weekly = scores["seasonal_weekly"].mase
    assert weekly is not None and 0.9 < weekly < 1.3
    for name in ("gbm", "weekly_profile"):
        mase = scores[name].mase
        assert mase is not None and mase < 0.85, scores[name]
        assert scores[name].mae >= scores["oracle"].mae, f"{name} beats the oracle: look-ahead"
    assert scores["gbm"].mae < scores["seasonal_weekly"].mae * 0.85


def test_gbm_uses_no_future_values() -> None:
    """Changing the values after the origin must not change the forecast."""
    history, _ = weekly_load(start_monday(2025, 6, 2), weeks=5, noise=0.05)
    origin = history.end_ms - 2 * DAY_MS
    past = history.until(origin)
    stamps = past.future(2 * DAY_MS)
    tampered = History(history.starts_ms, history.values.copy(), STEP_MS, history.timezone)
    tampered.values[len(past.values) :] += 10
    assert np.array_equal(gbm(past, stamps), gbm(tampered.until(origin), stamps))


def test_pv_forecasts_stay_within_zero_and_the_rating() -> None:
    system = PvSystem(latitude=52.5, longitude=13.4, tilt=30, azimuth=180)
    kwp = 8.0
    start = int(start_monday(2025, 6, 2).timestamp() * 1000)
    stamps = start + np.arange(14 * 96, dtype=np.int64) * STEP_MS
    envelope = pv_envelope(stamps, STEP_MS, system, kwp, 1.0, energy=True)
    # Days of random clearness, and one reading far above the envelope (a meter glitch).
    clearness = np.repeat(np.random.default_rng(3).uniform(0.2, 1.0, 14), 96)
    values = envelope * clearness
    values[-40] = 50.0
    history = History(stamps, values, STEP_MS, "Europe/Berlin")
    future = history.future(2 * DAY_MS)
    rating = kwp * STEP_MS / 3_600_000
    forecast = clear_sky_model(system, kwp, 1.0, energy=True)(history, future)
    assert forecast.min() >= 0 and forecast.max() <= rating * 1.2 + 1e-9
    assert forecast.max() > 0.5 * rating, "a June day has PV"
    for name, model in BASELINES.items():
        clipped = np.clip(model(history, future), 0, rating)  # what the service writes
        assert clipped.min() >= 0 and clipped.max() <= rating, name
