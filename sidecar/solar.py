"""Clear-sky PV yield per kWp for a site's location and orientation (pvlib).

Ineichen clear-sky irradiance (Linke turbidity from pvlib's monthly climatology), transposed
to the module plane with the isotropic sky model, times a flat performance ratio for
inverter, wiring, soiling and temperature losses. This is an envelope: real yield is lower on
every cloudy step (docs/forecasting.md, "PV").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from pvlib import irradiance, location

__all__ = ["PERFORMANCE_RATIO", "PvSystem", "clear_sky_kwh_per_kwp"]

PERFORMANCE_RATIO = 0.85


@dataclass(frozen=True, kw_only=True)
class PvSystem:
    latitude: float
    longitude: float
    tilt: float = 30.0
    azimuth: float = 180.0


def clear_sky_kwh_per_kwp(
    starts_ms: npt.NDArray[np.int64], step_seconds: float, system: PvSystem
) -> npt.NDArray[np.float64]:
    """Energy per kWp in each step [start, start + step), evaluated at the step's middle."""
    if len(starts_ms) == 0:
        return np.zeros(0)
    middle = pd.DatetimeIndex(
        pd.to_datetime(np.asarray(starts_ms) + int(step_seconds * 500), unit="ms", utc=True)
    )
    site = location.Location(system.latitude, system.longitude)
    sun = site.get_solarposition(middle)
    sky = site.get_clearsky(middle, model="ineichen", solar_position=sun)
    plane = irradiance.get_total_irradiance(
        system.tilt,
        system.azimuth,
        sun["apparent_zenith"],
        sun["azimuth"],
        sky["dni"],
        sky["ghi"],
        sky["dhi"],
    )
    poa = np.nan_to_num(np.asarray(plane["poa_global"], dtype=np.float64), nan=0.0)
    return np.clip(poa, 0.0, None) / 1000.0 * PERFORMANCE_RATIO * (step_seconds / 3600.0)
