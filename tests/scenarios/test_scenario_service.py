"""The scenario service end to end: real gateway over HTTP, real PostgreSQL. Its results
are read back through the gateway, and the scenario site's KPIs (the real site's KPI code)
agree with the simulation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest

from scenarios.battery import Battery
from scenarios.greedy import self_consumption
from scenarios.service import ScenarioService
from scenarios.settings import Settings
from sidecar.client import GatewayClient, rfc3339
from sidecar.settings import GatewaySettings
from tests.conftest import Gql, LiveGateway
from tests.scenarios.test_scenario_api import UPSERT, make_site, scenario, unique

START = datetime(2025, 6, 2, tzinfo=UTC)
STEPS = 2 * 96  # two days of 15-minute steps
STEP_MS = 900_000


def day_profiles() -> tuple[np.ndarray, np.ndarray]:
    hour = (np.arange(STEPS) % 96) / 4
    pv = np.clip(np.sin((hour - 6) / 14 * np.pi), 0, None) * 1.5  # kWh per 15 min, peak 6 kW
    load = 0.15 + 0.35 * ((hour >= 18) & (hour < 22))
    return pv.round(6), load


@pytest.fixture
async def gateway(live_gateway: LiveGateway) -> AsyncIterator[GatewayClient]:
    async with httpx.AsyncClient() as http:
        yield GatewayClient(http, GatewaySettings(url=live_gateway.url))


async def write_site_data(gateway: GatewayClient, site: str, *, price: bool = False) -> None:
    pv, load = day_profiles()
    stamps = START.timestamp() * 1000 + np.arange(STEPS, dtype=np.int64) * STEP_MS
    for suffix in ("pv", "load"):
        await gateway.upsert_series(
            {"key": f"{site}:{suffix}", "kind": "ENERGY", "unit": "kWh", "resolution": "PT15M"}
        )
    await gateway.ingest(f"{site}:pv", stamps.astype(np.int64), pv)
    await gateway.ingest(f"{site}:load", stamps.astype(np.int64), load)
    if price:  # hourly spot: cheap at night, dear in the evening
        hours = np.arange(STEPS // 4 + 24, dtype=np.int64)
        spot = np.where((hours % 24 >= 17) & (hours % 24 < 22), 250.0, 40.0)
        hourly = (START.timestamp() - 86_400) * 1000 + hours * 3_600_000
        await gateway.ingest(f"{site}:price", hourly.astype(np.int64), spot)


def service(gateway: GatewayClient, worker: str = "test") -> ScenarioService:
    return ScenarioService(gateway, Settings(gateway=GatewaySettings(), worker=worker))


async def run_until_done(gateway: GatewayClient, key: str) -> None:
    outcomes = await service(gateway).run_pending()
    assert key in {o.key for o in outcomes}, outcomes


KPIS = """query($key: String!, $from: DateTime!, $to: DateTime!) {
  scenario(key: $key) { status message site { key batteryCharge tariff { kind }
    kpis(from: $from, to: $to, every: "P1D") { total {
      production consumption gridImport gridExport batteryCharge batteryDischarge
      selfConsumptionRate autarky systemCost } } } } }"""

PERIOD = {"from": rfc3339(START), "to": rfc3339(START + timedelta(days=2))}


async def test_self_consumption_scenario_end_to_end(gateway: GatewayClient, gql: Gql) -> None:
    site = unique("home")
    await make_site(gql, site, pvPeakKw=6)
    await write_site_data(gateway, site)
    key = unique("sc")
    battery = {"capacityKwh": 5, "powerKw": 2.5, "chargeEfficiency": 0.95,
               "dischargeEfficiency": 0.95, "minSoc": 0.1}  # fmt: skip
    value = {**scenario(key, site, pvKwp=9, battery=battery), **PERIOD}
    body = await gql(UPSERT, {"input": value})
    assert body["data"]["upsertScenario"]["userErrors"] == []
    await run_until_done(gateway, key)

    result = (await gateway.execute(KPIS, {"key": key, **PERIOD}))["scenario"]
    assert result["status"] == "DONE", result
    total = result["site"]["kpis"]["total"]
    pv, load = day_profiles()
    expected = self_consumption(
        pv * 9 / 6,
        load,
        0.25,
        Battery(
            capacity_kwh=5,
            power_kw=2.5,
            charge_efficiency=0.95,
            discharge_efficiency=0.95,
            min_soc=0.1,
        ),  # fmt: skip
    )
    assert total["production"] == pytest.approx(expected.pv.sum(), abs=1e-6)
    assert total["gridImport"] == pytest.approx(expected.grid_import.sum(), abs=1e-6)
    assert total["gridExport"] == pytest.approx(expected.grid_export.sum(), abs=1e-6)
    assert total["batteryCharge"] == pytest.approx(expected.charge.sum(), abs=1e-6)
    # The site's balance-derived consumption equals the scenario's load: it balances.
    assert total["consumption"] == pytest.approx(load.sum(), abs=1e-6)

    # Per step, read back through the API: the flows balance and the SoC is stamped at the end.
    end = START + timedelta(days=2)
    columns = {}
    for role in ("pv", "load", "grid_import", "grid_export", "battery_charge",
                 "battery_discharge"):  # fmt: skip
        stamps, values = await gateway.samples(f"scenario:{key}:{role}", START, end)
        assert len(values) == STEPS and stamps[0] == START.timestamp() * 1000
        columns[role] = values
    balance = (
        columns["pv"] + columns["grid_import"] + columns["battery_discharge"]
        - columns["load"] - columns["grid_export"] - columns["battery_charge"]
    )  # fmt: skip
    assert np.abs(balance).max() < 1e-6
    stamps, soc = await gateway.samples(f"scenario:{key}:soc", START, end + timedelta(hours=1))
    assert stamps[0] == START.timestamp() * 1000 + STEP_MS
    assert soc.min() >= 0.5 - 1e-9 and soc.max() <= 5 + 1e-9


async def test_cost_optimal_never_costs_more_than_self_consumption(
    gateway: GatewayClient, gql: Gql
) -> None:
    site = unique("dyn")
    await make_site(gql, site, dynamic=True, pvPeakKw=6)
    await write_site_data(gateway, site, price=True)
    battery = {"capacityKwh": 8, "powerKw": 4}
    costs = {}
    for strategy in ("SELF_CONSUMPTION", "COST_OPTIMAL"):
        key = unique(strategy.lower().replace("_", "-"))
        value = {**scenario(key, site, battery=battery, strategy=strategy), **PERIOD}
        assert (await gql(UPSERT, {"input": value}))["data"]["upsertScenario"]["userErrors"] == []
        await run_until_done(gateway, key)
        result = (await gateway.execute(KPIS, {"key": key, **PERIOD}))["scenario"]
        assert result["status"] == "DONE", result
        assert result["site"]["tariff"]["kind"] == "DYNAMIC"
        costs[strategy] = result["site"]["kpis"]["total"]["systemCost"]
    assert costs["COST_OPTIMAL"] < costs["SELF_CONSUMPTION"] - 0.1, costs


async def test_a_period_without_data_fails_with_a_message(gateway: GatewayClient, gql: Gql) -> None:
    site = unique("empty")
    await make_site(gql, site)
    key = unique("nodata")
    await gql(UPSERT, {"input": {**scenario(key, site), **PERIOD}})
    await run_until_done(gateway, key)
    result = (await gateway.execute(KPIS, {"key": key, **PERIOD}))["scenario"]
    assert result["status"] == "FAILED" and "cover 0.0%" in result["message"]
    assert result["site"] is None


async def test_replicas_compute_each_scenario_once(gateway: GatewayClient, gql: Gql) -> None:
    site = unique("rep")
    await make_site(gql, site, pvPeakKw=6)
    await write_site_data(gateway, site)
    keys = {unique("rep") for _ in range(6)}
    for key in keys:
        await gql(UPSERT, {"input": {**scenario(key, site), **PERIOD}})
    results: list[Any] = await asyncio.gather(
        *(service(gateway, f"replica-{i}").run_pending() for i in range(3))
    )
    done = [o.key for outcomes in results for o in outcomes if o.key in keys]
    assert sorted(done) == sorted(keys), "each scenario exactly once"


async def test_site_without_pv_gets_a_clear_sky_profile(gateway: GatewayClient, gql: Gql) -> None:
    site = unique("nopv")
    await gateway.upsert_series(
        {"key": f"{site}:load", "kind": "ENERGY", "unit": "kWh", "resolution": "PT15M"}
    )
    _, load = day_profiles()
    stamps = START.timestamp() * 1000 + np.arange(STEPS, dtype=np.int64) * STEP_MS
    await gateway.ingest(f"{site}:load", stamps.astype(np.int64), load)
    body = await gql(
        """mutation($input: SiteInput!) { upsertSite(input: $input) { userErrors { code } } }""",
        {"input": {"key": site, "load": f"{site}:load", "latitude": 52.5, "longitude": 13.4,
                   "tariff": {"kind": "FIXED", "importPriceCt": 30, "feedInCt": 8}}},
    )  # fmt: skip
    assert body["data"]["upsertSite"]["userErrors"] == []
    key = unique("nopv")
    await gql(UPSERT, {"input": {**scenario(key, site, pvKwp=5), **PERIOD}})
    await run_until_done(gateway, key)
    result = (await gateway.execute(KPIS, {"key": key, **PERIOD}))["scenario"]
    assert result["status"] == "DONE", result
    total = result["site"]["kpis"]["total"]
    # Two June days near Berlin: 5 kWp x 0.57 of the clear-sky envelope, some 35-45 kWh.
    assert 25 < total["production"] < 60, total
    _, pv = await gateway.samples(f"scenario:{key}:pv", START, START + timedelta(days=2))
    assert pv.min() >= 0 and pv.max() <= 5 * 0.25


async def test_a_dst_day_has_92_quarter_hours(gateway: GatewayClient, gql: Gql) -> None:
    """Europe/Berlin 2025-03-30: 23 hours. Steps are UTC quarter-hours: 92 of them, SoC
    stamped at each step's end, the last at local midnight."""
    site = unique("dst")
    await make_site(gql, site, pvPeakKw=6)
    zone = ZoneInfo("Europe/Berlin")
    # In UTC: Python subtracts aware datetimes of one zone on the wall clock (24 h here).
    start = datetime(2025, 3, 30, tzinfo=zone).astimezone(UTC)
    end = datetime(2025, 3, 31, tzinfo=zone).astimezone(UTC)
    steps = int((end - start) / timedelta(minutes=15))
    assert steps == 92
    stamps = int(start.timestamp() * 1000) + np.arange(steps, dtype=np.int64) * STEP_MS
    for suffix, power in (("pv", 0.3), ("load", 0.2)):
        await gateway.upsert_series(
            {"key": f"{site}:{suffix}", "kind": "ENERGY", "unit": "kWh", "resolution": "PT15M"}
        )
        await gateway.ingest(f"{site}:{suffix}", stamps, np.full(steps, power))
    key = unique("dst")
    battery = {"capacityKwh": 2, "powerKw": 1, "chargeEfficiency": 1, "dischargeEfficiency": 1}
    value = {"key": key, "site": site, "from": start.isoformat(), "to": end.isoformat(),
             "battery": battery}  # fmt: skip
    assert (await gql(UPSERT, {"input": value}))["data"]["upsertScenario"]["userErrors"] == []
    await run_until_done(gateway, key)
    times, soc = await gateway.samples(f"scenario:{key}:soc", start, end + timedelta(hours=1))
    assert len(soc) == 92 and times[-1] == int(end.timestamp() * 1000)
    # 0.1 kWh surplus per step fills 2 kWh after 20 steps, then exports.
    assert soc[19] == pytest.approx(2.0) and soc[-1] == pytest.approx(2.0)
    _, export = await gateway.samples(f"scenario:{key}:grid_export", start, end)
    assert export.sum() == pytest.approx(92 * 0.1 - 2.0)


async def test_tariff_override_makes_a_fixed_site_cost_optimal(
    gateway: GatewayClient, gql: Gql
) -> None:
    site = unique("fix")
    await make_site(gql, site, pvPeakKw=6)  # FIXED tariff
    await gateway.upsert_series(
        {"key": f"{site}:price", "kind": "PRICE", "unit": "EUR/MWh", "resolution": "PT1H"}
    )
    await write_site_data(gateway, site, price=True)
    key = unique("override")
    tariff = {"kind": "DYNAMIC", "priceSeries": f"{site}:price", "surchargesCt": 17.85,
              "vat": 0.19, "feedInCt": 8.1}  # fmt: skip
    # No PV (pvKwp 0): whatever the battery stores comes from the grid.
    value = {**scenario(key, site, battery={"capacityKwh": 8, "powerKw": 4}, pvKwp=0,
                        strategy="COST_OPTIMAL", tariff=tariff), **PERIOD}  # fmt: skip
    assert (await gql(UPSERT, {"input": value}))["data"]["upsertScenario"]["userErrors"] == []
    await run_until_done(gateway, key)
    result = (await gateway.execute(KPIS, {"key": key, **PERIOD}))["scenario"]
    assert result["status"] == "DONE", result
    assert result["site"]["tariff"]["kind"] == "DYNAMIC"
    _, charge = await gateway.samples(
        f"scenario:{key}:battery_charge", START, START + timedelta(days=2)
    )
    _, pv = await gateway.samples(f"scenario:{key}:pv", START, START + timedelta(days=2))
    _, imported = await gateway.samples(
        f"scenario:{key}:grid_import", START, START + timedelta(days=2)
    )
    # The optimum charges from the grid in cheap hours (the greedy rule never does) and
    # discharges in the dear evening hours (17:00-22:00 UTC in write_site_data).
    assert pv.max() == 0 and charge.sum() > 1
    charging = charge > 1e-6
    assert (imported[charging] >= charge[charging] - 1e-6).all()
    hours = (np.arange(len(charge)) // 4) % 24
    assert not ((hours >= 17) & (hours < 22) & charging).any()
