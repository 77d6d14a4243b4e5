"""PV without weather data: the clear-sky envelope of the site's PV system scaled by the
clearness of the last day with daylight (docs/forecasting.md, "PV")."""

from __future__ import annotations

import numpy as np

from forecasting.history import DAY_MS, Array, History, Stamps
from forecasting.models import Model
from sidecar.solar import PvSystem, clear_sky_kwh_per_kwp

__all__ = ["clear_sky_model", "pv_envelope"]

MAX_CLEARNESS = 1.2  # cold, clear days and albedo can beat the envelope a little


def pv_envelope(
    stamps: Stamps, step_ms: int, system: PvSystem, kwp: float, per_kwh: float, energy: bool
) -> Array:
    """Clear-sky output in the source's unit: `per_kwh` converts kWh (energy) or kW (power)."""
    kwh = clear_sky_kwh_per_kwp(stamps, step_ms / 1000, system) * kwp
    if not energy:
        kwh = kwh / (step_ms / 3_600_000)  # mean power over the step
    return kwh * per_kwh


def clear_sky_model(system: PvSystem, kwp: float, per_kwh: float, energy: bool) -> Model:
    def forecast(history: History, stamps: Stamps) -> Array:
        last_day = history.starts_ms >= history.end_ms - DAY_MS
        actual = history.values[last_day]
        envelope = pv_envelope(
            history.starts_ms[last_day], history.step_ms, system, kwp, per_kwh, energy
        )
        seen = np.isfinite(actual)
        possible = float(envelope[seen].sum())
        clearness = float(actual[seen].sum()) / possible if possible > 0 else 0.5
        clearness = min(max(clearness, 0.0), MAX_CLEARNESS)
        return clearness * pv_envelope(stamps, history.step_ms, system, kwp, per_kwh, energy)

    return forecast
