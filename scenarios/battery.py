"""A battery's parameters and the flows of one simulated period (docs/scenarios.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Battery", "Flows"]

Array = npt.NDArray[np.float64]


@dataclass(frozen=True, kw_only=True)
class Battery:
    """Usable capacity and AC-side power; SoC bounds are fractions of the capacity."""

    capacity_kwh: float
    power_kw: float
    charge_efficiency: float
    discharge_efficiency: float
    min_soc: float = 0.0
    max_soc: float = 1.0
    initial_soc: float | None = None  # None: start at min_soc

    @property
    def min_kwh(self) -> float:
        return self.capacity_kwh * self.min_soc

    @property
    def max_kwh(self) -> float:
        return self.capacity_kwh * self.max_soc

    @property
    def initial_kwh(self) -> float:
        soc = self.min_soc if self.initial_soc is None else self.initial_soc
        return self.capacity_kwh * soc


@dataclass(frozen=True, kw_only=True)
class Flows:
    """Energy per step in kWh (all >= 0) and the stored energy after each step.

    Balance per step: pv + grid_import + discharge = load + grid_export + charge.
    """

    pv: Array
    load: Array
    grid_import: Array
    grid_export: Array
    charge: Array
    discharge: Array
    soc_kwh: Array  # after each step
    initial_kwh: float = 0.0

    def imbalance(self) -> Array:
        return (
            self.pv + self.grid_import + self.discharge - self.load - self.grid_export - self.charge
        )

    def losses_kwh(self, battery: Battery | None) -> float:
        """Energy lost in the battery: charge x (1 - eta_ch) + discharge x (1/eta_dis - 1)."""
        if battery is None:
            return 0.0
        return float(
            self.charge.sum() * (1 - battery.charge_efficiency)
            + self.discharge.sum() * (1 / battery.discharge_efficiency - 1)
        )

    def cost_eur(self, import_price: Array | float, feed_in_price: Array | float) -> float:
        """Grid cost: sum of import x import price minus export x feed-in price (EUR)."""
        return float(
            np.sum(self.grid_import * import_price) - np.sum(self.grid_export * feed_in_price)
        )
