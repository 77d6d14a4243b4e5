"""The scenario core on its own: balance, SoC bounds, losses, the worked example of docs/domain.md,
a DST day and the linear program against the greedy rule and a hand-solved case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from scenarios.battery import Battery, Flows
from scenarios.greedy import self_consumption
from scenarios.optimal import cost_optimal

WORKED_PV = [0, 2, 4, 4, 1, 0]
WORKED_LOAD = [1, 1, 1, 1, 2, 3]
WORKED_BATTERY = Battery(
    capacity_kwh=5, power_kw=3, charge_efficiency=0.95, discharge_efficiency=0.95
)


def check_physics(flows: Flows, battery: Battery | None) -> None:
    assert np.abs(flows.imbalance()).max(initial=0) < 1e-6
    for column in (flows.grid_import, flows.grid_export, flows.charge, flows.discharge):
        assert column.min(initial=0) >= -1e-9
    assert (np.minimum(flows.grid_import, flows.grid_export) < 1e-9).all()
    if battery is not None:
        assert flows.soc_kwh.min(initial=battery.min_kwh) >= battery.min_kwh - 1e-6
        assert flows.soc_kwh.max(initial=0) <= battery.max_kwh + 1e-6
        stored = flows.soc_kwh[-1] - flows.initial_kwh
        # What went in minus what came out is what is stored plus what was lost.
        assert flows.charge.sum() - flows.discharge.sum() == pytest.approx(
            stored + flows.losses_kwh(battery), abs=1e-6
        )


def test_worked_example_without_battery() -> None:
    flows = self_consumption(np.array(WORKED_PV, float), np.array(WORKED_LOAD, float), 1.0, None)
    assert flows.grid_import.sum() == 5 and flows.grid_export.sum() == 7
    assert flows.cost_eur(0.35, 0.081) == pytest.approx(1.183)


def test_worked_example_with_battery() -> None:
    flows = self_consumption(
        np.array(WORKED_PV, float), np.array(WORKED_LOAD, float), 1.0, WORKED_BATTERY
    )
    assert flows.soc_kwh.round(3).tolist() == [0, 0.95, 3.8, 5.0, 3.947, 0.789]
    assert flows.grid_import.sum() == pytest.approx(1.0)
    assert flows.grid_export.sum() == pytest.approx(1.737, abs=5e-4)
    assert flows.charge.sum() == pytest.approx(5.263, abs=5e-4)
    assert flows.discharge.sum() == pytest.approx(4.0)
    scr = 1 - flows.grid_export.sum() / flows.pv.sum()
    aut = 1 - flows.grid_import.sum() / flows.load.sum()
    assert round(scr * 100, 1) == 84.2 and round(aut * 100, 1) == 88.9
    assert flows.cost_eur(0.35, 0.081) == pytest.approx(0.209, abs=5e-4)
    check_physics(flows, WORKED_BATTERY)
    assert flows.losses_kwh(WORKED_BATTERY) == pytest.approx(
        5.263 * 0.05 + 4 * (1 / 0.95 - 1), abs=1e-3
    )


def test_dst_day_has_23_hours_and_a_hand_checked_result() -> None:
    """Europe/Berlin on 2024-03-31 has 23 one-hour steps (02:00 does not exist). PV 2 kWh in
    each hour from 10:00 to 15:59 local, load 1 kWh every hour; battery 4 kWh, 2 kW, lossless,
    empty. By hand: the 9 hours before 10:00 import 1 each (9); the 6 surplus hours fill the
    battery in the first 4 (4 kWh) and export 1 in the last 2 (2); of the 8 hours from 16:00
    the first 4 run on the battery and the last 4 import (4). Import 13, export 2."""
    zone = ZoneInfo("Europe/Berlin")
    start = datetime(2024, 3, 31, tzinfo=zone).astimezone(UTC)
    end = datetime(2024, 4, 1, tzinfo=zone).astimezone(UTC)
    stamps = [start + timedelta(hours=h) for h in range(int((end - start) / timedelta(hours=1)))]
    assert len(stamps) == 23
    local_hours = [t.astimezone(zone).hour for t in stamps]
    pv = np.array([2.0 if 10 <= h < 16 else 0.0 for h in local_hours])
    load = np.ones(23)
    battery = Battery(capacity_kwh=4, power_kw=2, charge_efficiency=1, discharge_efficiency=1)
    flows = self_consumption(pv, load, 1.0, battery)
    assert flows.charge.sum() == 4 and flows.grid_export.sum() == 2
    assert flows.discharge.sum() == 4 and flows.grid_import.sum() == 13
    # Hours after 16:00 local: 16, 17, 18, 19 run on the battery, 20 imports again.
    by_hour = dict(zip(local_hours, flows.soc_kwh.tolist(), strict=True))
    assert by_hour[15] == 4 and by_hour[19] == 0 and by_hour[3] == 0
    assert 2 not in local_hours
    check_physics(flows, battery)


steps = st.integers(min_value=1, max_value=60)
energies = st.floats(min_value=0, max_value=5, allow_nan=False)


@st.composite
def cases(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, Battery]:
    n = draw(steps)
    pv = np.array(draw(st.lists(energies, min_size=n, max_size=n)))
    load = np.array(draw(st.lists(energies, min_size=n, max_size=n)))
    min_soc = draw(st.floats(0, 0.5))
    battery = Battery(
        capacity_kwh=draw(st.floats(0.1, 20)),
        power_kw=draw(st.floats(0.1, 10)),
        charge_efficiency=draw(st.floats(0.5, 1)),
        discharge_efficiency=draw(st.floats(0.5, 1)),
        min_soc=min_soc,
        initial_soc=draw(st.floats(min_soc, 1)),
    )
    return pv, load, battery


@settings(max_examples=60, deadline=None)
@given(cases())
def test_greedy_balances_and_respects_bounds(case: tuple[np.ndarray, np.ndarray, Battery]) -> None:
    pv, load, battery = case
    check_physics(self_consumption(pv, load, 0.25, battery), battery)


@settings(max_examples=40, deadline=None)
@given(cases(), st.lists(st.floats(0.1, 0.6), min_size=60, max_size=60))
def test_lp_balances_and_never_costs_more_than_greedy(
    case: tuple[np.ndarray, np.ndarray, Battery], prices: list[float]
) -> None:
    pv, load, battery = case
    battery = Battery(**{**battery.__dict__, "initial_soc": battery.min_soc})
    price = np.array(prices[: len(pv)])
    feed_in = 0.08
    optimal = cost_optimal(pv, load, 0.25, battery, price, feed_in)
    check_physics(optimal, battery)
    assert optimal.soc_kwh[-1] >= battery.initial_kwh - 1e-6
    greedy = self_consumption(pv, load, 0.25, battery)
    assert optimal.cost_eur(price, feed_in) <= greedy.cost_eur(price, feed_in) + 1e-6


def test_lp_matches_a_hand_solved_case() -> None:
    """Two 1-h steps, no PV, load 1 kWh each, prices 0.10 then 0.50 EUR/kWh, no feed-in.
    Battery 2 kWh, 2 kW, η_ch = 0.9, η_dis = 1, empty, must end at least empty.

    By hand: in step 1 import 1 kWh for the load plus x to charge (0.9x stored); in step 2
    discharge min(1, 0.9x). Cheapest: 0.9x = 1 -> x = 1/0.9; cost = 0.10 (1 + 1/0.9) + 0 =
    0.2111 EUR versus 0.60 without the battery."""
    battery = Battery(capacity_kwh=2, power_kw=2, charge_efficiency=0.9, discharge_efficiency=1)
    flows = cost_optimal(np.zeros(2), np.ones(2), 1.0, battery, np.array([0.10, 0.50]), 0.0)
    assert flows.cost_eur(np.array([0.10, 0.50]), 0.0) == pytest.approx(0.1 * (1 + 1 / 0.9))
    assert flows.charge.tolist() == pytest.approx([1 / 0.9, 0])
    assert flows.discharge.tolist() == pytest.approx([0, 1])
    check_physics(flows, battery)
