"""Sizing sweep: autarky, self-consumption rate, yearly savings and simple payback over a
grid of PV and battery sizes, with the greedy SELF_CONSUMPTION rule (docs/scenarios.md,
"Sweep")."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from scenarios.battery import Array, Battery, Flows
from scenarios.greedy import self_consumption

__all__ = ["SweepCell", "SweepCosts", "format_table", "sweep"]

SECONDS_PER_YEAR = 365.25 * 86_400


@dataclass(frozen=True, kw_only=True)
class SweepCosts:
    per_kwp_eur: float = 1300.0  # installed PV, EUR per added kWp
    per_kwh_eur: float = 700.0  # installed battery, EUR per kWh
    c_rate: float = 0.5  # battery power per kWh of capacity
    efficiency: float = 0.95  # per direction


@dataclass(frozen=True, kw_only=True)
class SweepCell:
    pv_kwp: float
    battery_kwh: float
    autarky: float | None
    self_consumption_rate: float | None
    yearly_savings_eur: float | None
    investment_eur: float
    payback_years: float | None

    def as_input(self) -> dict[str, float | None]:
        """The GraphQL `SweepCellInput` (camelCase field names)."""
        return {_camel(name): value for name, value in asdict(self).items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def sweep(
    *,
    pv_for: Callable[[float], Array],
    load: Array,
    step_hours: float,
    import_price: Array,
    feed_in_price: float,
    today: Flows,
    current_kwp: float,
    pv_sizes: Sequence[float],
    battery_sizes: Sequence[float],
    costs: SweepCosts,
) -> list[SweepCell]:
    """`today` are the flows the site has now; savings are against its grid cost."""
    years = len(load) * step_hours * 3600 / SECONDS_PER_YEAR
    cost_today = today.cost_eur(import_price, feed_in_price)
    cells = []
    for kwp in pv_sizes:
        pv = pv_for(kwp)
        for kwh in battery_sizes:
            battery = None
            if kwh > 0:
                battery = Battery(
                    capacity_kwh=kwh,
                    power_kw=kwh * costs.c_rate,
                    charge_efficiency=costs.efficiency,
                    discharge_efficiency=costs.efficiency,
                )
            flows = self_consumption(pv, load, step_hours, battery)
            g, e = float(flows.pv.sum()), float(flows.grid_export.sum())
            demand, i = float(flows.load.sum()), float(flows.grid_import.sum())
            savings = (cost_today - flows.cost_eur(import_price, feed_in_price)) / years
            investment = max(kwp - current_kwp, 0.0) * costs.per_kwp_eur + kwh * costs.per_kwh_eur
            payback = investment / savings if savings > 0 else None
            cells.append(
                SweepCell(
                    pv_kwp=kwp,
                    battery_kwh=kwh,
                    autarky=_ratio(demand - i, demand),
                    self_consumption_rate=_ratio(g - e, g),
                    yearly_savings_eur=savings,
                    investment_eur=investment,
                    payback_years=payback,
                )
            )
    return cells


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def format_table(cells: Sequence[SweepCell]) -> str:
    header = f"{'PV kWp':>7} {'Batt kWh':>8} {'Autarky':>8} {'SCR':>8} {'Savings/yr':>11} "
    header += f"{'Invest':>9} {'Payback':>8}"
    lines = [header, "-" * len(header)]
    for c in cells:
        savings = "-" if c.yearly_savings_eur is None else f"{c.yearly_savings_eur:.0f} EUR"
        payback = "-" if c.payback_years is None else f"{c.payback_years:.1f} y"
        lines.append(
            f"{c.pv_kwp:>7g} {c.battery_kwh:>8g} {_percent(c.autarky):>8} "
            f"{_percent(c.self_consumption_rate):>8} {savings:>11} "
            f"{c.investment_eur:>5.0f} EUR {payback:>8}"
        )
    return "\n".join(lines)
