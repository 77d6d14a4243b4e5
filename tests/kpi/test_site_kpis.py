"""Site KPIs through the GraphQL API (docs/domain.md §6: worked examples, E8, DST)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.conftest import Gql
from tests.kpi.helpers import (
    T0,
    UPSERT_SITE,
    at,
    hourly,
    kpis,
    make_site,
    series_at,
)

BERLIN = "Europe/Berlin"
DST_DAY = datetime.fromisoformat("2025-10-26T00:00:00+02:00")  # 25 h in Berlin
DST_END = datetime.fromisoformat("2025-10-27T00:00:00+01:00")
FIXED = {"kind": "FIXED", "importPriceCt": 35.0, "feedInCt": 8.1}


def _codes(result: dict[str, object]) -> set[str]:
    warnings = result["warnings"]
    assert isinstance(warnings, list)
    return {w["code"] for w in warnings}


async def _example_2_7(gql: Gql, origin: datetime, hours: int) -> None:
    # G = 20 (10:00-14:00), E = 12 (same hours), I = 6 (00:00-06:00); no battery, no load
    # meter: L = G + I - E = 14 from the balance.
    pv = [0.0] * hours
    export = [0.0] * hours
    grid_import = [0.0] * hours
    for h in range(10, 14):
        pv[h], export[h] = 5.0, 3.0
    for h in range(6):
        grid_import[h] = 1.0
    await hourly(gql, "s:pv", origin, pv, timezone=BERLIN)
    await hourly(gql, "s:imp", origin, grid_import, timezone=BERLIN)
    await hourly(gql, "s:exp", origin, export, timezone=BERLIN)
    await make_site(
        gql, key="home", timezone=BERLIN, pv="s:pv", gridImport="s:imp", gridExport="s:exp",
        tariff=FIXED, co2Intensity=363.0,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("origin", "end", "hours"),
    [
        (datetime.fromisoformat("2025-06-02T00:00:00+02:00"), None, 24),
        (DST_DAY, DST_END, 25),
    ],
)
async def test_section_2_7_self_consumption_autarky_savings_co2(
    gql: Gql, origin: datetime, end: datetime | None, hours: int
) -> None:
    await _example_2_7(gql, origin, hours)
    stop = end or origin + timedelta(hours=hours)
    result = await kpis(gql, "home", origin, stop, "P1D")
    assert len(result["buckets"]) == 1
    day = result["buckets"][0]
    assert datetime.fromisoformat(day["end"]) == stop
    total = result["total"]
    for values in (day, total):
        assert values["production"] == pytest.approx(20.0)
        assert values["gridExport"] == pytest.approx(12.0)
        assert values["gridImport"] == pytest.approx(6.0)
        assert values["consumption"] == pytest.approx(14.0)
        assert values["selfConsumption"] == pytest.approx(8.0)
        assert values["selfConsumptionRate"] == pytest.approx(0.40)
        assert values["autarky"] == pytest.approx(8 / 14)  # 57.1 %
        assert values["baselineCost"] == pytest.approx(4.90)
        assert values["systemCost"] == pytest.approx(1.128)
        assert values["savings"] == pytest.approx(3.772)
        assert values["feedInRevenue"] == pytest.approx(0.972)
        assert values["co2Import"] == pytest.approx(2.178)
        assert values["co2Avoided"] == pytest.approx(2.904)
        assert values["coverage"] == pytest.approx(1.0)
    assert result["warnings"] == []


async def test_ratios_come_from_sums_not_averaged(gql: Gql) -> None:
    # Day 1: G = 30, SC = 9 (30 %); day 2: G = 2, SC = 2 (100 %). Two-day SCR = 11/32.
    origin = T0
    pv = [0.0] * 48
    exp = [0.0] * 48
    load = [0.0] * 48
    pv[12], exp[12], load[12] = 30.0, 21.0, 9.0
    pv[36], exp[36], load[36] = 2.0, 0.0, 2.0
    await hourly(gql, "r:pv", origin, pv)
    await hourly(gql, "r:exp", origin, exp)
    await hourly(gql, "r:imp", origin, [0.0] * 48)
    await hourly(gql, "r:load", origin, load)
    await make_site(
        gql, key="r", pv="r:pv", load="r:load", gridImport="r:imp", gridExport="r:exp",
        tariff=FIXED,
    )  # fmt: skip
    result = await kpis(gql, "r", origin, origin + timedelta(days=2), "P1D")
    assert [b["selfConsumptionRate"] for b in result["buckets"]] == pytest.approx([0.3, 1.0])
    assert result["total"]["selfConsumptionRate"] == pytest.approx(11 / 32)


BATTERY_FLOWS: dict[str, list[float]] = {
    # docs/domain.md §6 worked example, Y = 5 kWh, greedy, eta 0.95: the measured flows.
    "pv": [0, 2, 4, 4, 1, 0],
    "load": [1, 1, 1, 1, 2, 3],
    "import": [1, 0, 0, 0, 0, 0],
    "export": [0, 0, 0, 1.737, 0, 0],
    "charge": [0, 1, 3, 1.263, 0, 0],
    "discharge": [0, 0, 0, 0, 1, 3],
}


@pytest.mark.parametrize("signed", [False, True])
async def test_section_4_3_battery_example_from_measured_flows(gql: Gql, signed: bool) -> None:
    origin = DST_DAY + timedelta(hours=1)  # across the repeated hour 02:00-03:00
    f = BATTERY_FLOWS
    for name in ("pv", "load", "import", "export"):
        await hourly(gql, f"b:{name}", origin, [float(v) for v in f[name]], timezone=BERLIN)
    battery: dict[str, str] = {}
    if signed:
        net = [d - c for c, d in zip(f["charge"], f["discharge"], strict=True)]
        await hourly(gql, "b:bat", origin, net, timezone=BERLIN)
        battery = {"battery": "b:bat"}
    else:
        await hourly(gql, "b:charge", origin, [float(v) for v in f["charge"]])
        await hourly(gql, "b:discharge", origin, [float(v) for v in f["discharge"]])
        battery = {"batteryCharge": "b:charge", "batteryDischarge": "b:discharge"}
    await make_site(
        gql, key="bat", timezone=BERLIN, pv="b:pv", load="b:load", gridImport="b:import",
        gridExport="b:export", tariff=FIXED, co2Intensity=363.0, **battery,
    )  # fmt: skip
    result = await kpis(gql, "bat", origin, origin + timedelta(hours=6), "PT1H")
    total = result["total"]
    assert total["production"] == pytest.approx(11.0)
    assert total["consumption"] == pytest.approx(9.0)
    assert total["gridImport"] == pytest.approx(1.0)
    assert total["gridExport"] == pytest.approx(1.737)
    assert total["batteryCharge"] == pytest.approx(5.263)
    assert total["batteryDischarge"] == pytest.approx(4.0)
    assert total["selfConsumptionRate"] == pytest.approx((11 - 1.737) / 11)  # 84.2 %
    assert total["autarky"] == pytest.approx(1 - 1 / 9)  # 88.9 %
    assert total["systemCost"] == pytest.approx(0.35 - 1.737 * 0.081)  # 0.209 EUR
    assert len(result["buckets"]) == 6
    # G + I + D = L + E + C holds, so no balance warning.
    assert "BALANCE_RESIDUAL" not in _codes(result)


async def test_section_4_3_without_battery(gql: Gql) -> None:
    f = BATTERY_FLOWS
    await hourly(gql, "n:pv", T0, [float(v) for v in f["pv"]])
    await hourly(gql, "n:load", T0, [float(v) for v in f["load"]])
    await make_site(gql, key="nobat", pv="n:pv", load="n:load", tariff=FIXED)
    result = await kpis(gql, "nobat", T0, T0 + timedelta(hours=6), "PT1H")
    total = result["total"]
    # No grid meter: I and E come from the balance per step.
    assert total["gridImport"] == pytest.approx(5.0)
    assert total["gridExport"] == pytest.approx(7.0)
    assert total["selfConsumptionRate"] == pytest.approx(4 / 11)  # 36.4 %
    assert total["autarky"] == pytest.approx(4 / 9)  # 44.4 %
    assert total["systemCost"] == pytest.approx(1.183)


async def test_e8_signed_grid_power_at_site_level(gql: Gql) -> None:
    await series_at(
        gql, "g:grid", "POWER", "kW", [0, 15, 30, 45], [3, 1, -1, -3], integration="TRAPEZOIDAL"
    )
    await make_site(gql, key="e8", grid="g:grid", tariff=FIXED)
    result = await kpis(gql, "e8", at(0), at(45), "PT1H")
    assert result["total"]["gridImport"] == pytest.approx(0.625)
    assert result["total"]["gridExport"] == pytest.approx(0.625)


DYNAMIC = {"kind": "DYNAMIC", "priceSeries": "price", "surchargesCt": 17.85, "vat": 0.19}


def retail(spot: float) -> float:
    """EUR/kWh gross for a spot price in EUR/MWh (docs/domain.md §3, dynamic tariff)."""
    return (spot / 10 + 17.85) * 1.19 / 100


def test_retail_check_values() -> None:
    assert retail(80) * 100 == pytest.approx(30.76, abs=0.005)
    assert retail(-20) * 100 == pytest.approx(18.86, abs=0.005)
    assert retail(150) * 100 == pytest.approx(39.09, abs=0.005)


async def _price(gql: Gql, resolution: str, minutes: list[float], values: list[float]) -> None:
    await series_at(gql, "price", "PRICE", "EUR/MWh", minutes, values, resolution=resolution)


async def test_dynamic_tariff_check_values(gql: Gql) -> None:
    await _price(gql, "PT1H", [0, 60, 120], [80.0, -20.0, 150.0])
    await hourly(gql, "d:imp", T0, [1.0, 1.0, 1.0])
    await hourly(gql, "d:exp", T0, [0.0, 0.0, 0.0])
    await make_site(gql, key="dyn", gridImport="d:imp", gridExport="d:exp", tariff=DYNAMIC)
    result = await kpis(gql, "dyn", T0, at(180), "PT1H")
    costs = [b["importCost"] for b in result["buckets"]]
    assert costs == pytest.approx([0.3076, 0.1886, 0.3909], abs=5e-5)
    assert result["total"]["importCost"] == pytest.approx(retail(80) + retail(-20) + retail(150))
    assert result["total"]["priceCoverage"] == pytest.approx(1.0)


QUARTER_PRICES = [40.0, 80.0, 120.0, 160.0]


async def test_quarter_hour_prices_apply_to_quarter_hour_energy(gql: Gql) -> None:
    await _price(gql, "PT15M", [0, 15, 30, 45], QUARTER_PRICES)
    await series_at(
        gql, "q:imp", "ENERGY", "kWh", [0, 15, 30, 45], [4.0, 0, 0, 0], resolution="PT15M"
    )
    await series_at(gql, "q:exp", "ENERGY", "kWh", [0], [0.0], resolution="PT1H")
    await make_site(gql, key="q", gridImport="q:imp", gridExport="q:exp", tariff=DYNAMIC)
    result = await kpis(gql, "q", T0, at(60), "PT1H")
    # The 4 kWh fell in the 40 EUR/MWh quarter, not at the hourly mean of 100.
    assert result["total"]["importCost"] == pytest.approx(4 * retail(40))
    assert result["total"]["averageImportPrice"] == pytest.approx(retail(40))


async def test_a_price_quarter_is_checked_inside_an_hourly_step(gql: Gql) -> None:
    # The hourly step's mean price is 250 EUR/MWh; one quarter at 1,000 is still flagged,
    # the same rule at the same grain as `marketPrice` (docs/plausibility.md).
    await _price(gql, "PT15M", [0, 15, 30, 45], [0.0, 0.0, 0.0, 1000.0])
    await hourly(gql, "p:imp", T0, [1.0])
    await hourly(gql, "p:exp", T0, [0.0])
    await make_site(gql, key="p", gridImport="p:imp", gridExport="p:exp", tariff=DYNAMIC)
    result = await kpis(gql, "p", T0, at(60), "PT1H", resolution="PT1H")
    found = [
        (w["level"], w["bucket"], w["value"])
        for w in result["warnings"]
        if w["code"] == "PRICE_OUT_OF_RANGE"
    ]
    assert found == [("WARNING", 0, 1000.0), ("WARNING", None, 1000.0)]


async def test_hourly_energy_with_quarter_hour_prices(gql: Gql) -> None:
    # Rule: an hourly energy is spread evenly over its quarter-hours, each priced by its own
    # quarter-hour price, i.e. the hour's energy x the time-weighted mean price.
    await _price(gql, "PT15M", [0, 15, 30, 45], QUARTER_PRICES)
    await hourly(gql, "h:imp", T0, [4.0])
    await hourly(gql, "h:exp", T0, [0.0])
    await make_site(gql, key="h", gridImport="h:imp", gridExport="h:exp", tariff=DYNAMIC)
    result = await kpis(gql, "h", T0, at(60), "PT1H")
    expected = sum(1.0 * retail(p) for p in QUARTER_PRICES)
    assert result["total"]["importCost"] == pytest.approx(expected)
    assert result["total"]["importCost"] == pytest.approx(4 * retail(100))


async def test_quarter_hour_energy_with_hourly_prices(gql: Gql) -> None:
    # Rule: an hourly price holds for each of its four quarter-hours.
    await _price(gql, "PT1H", [0, 60], [100.0, 300.0])
    await series_at(
        gql, "x:imp", "ENERGY", "kWh", [0, 15, 30, 45, 60, 75, 90, 105],
        [1.0, 0, 0, 2.0, 0, 0, 0, 1.0], resolution="PT15M",
    )  # fmt: skip
    await hourly(gql, "x:exp", T0, [0.0, 0.0])
    await make_site(gql, key="x", gridImport="x:imp", gridExport="x:exp", tariff=DYNAMIC)
    result = await kpis(gql, "x", T0, at(120), "PT1H")
    assert [b["importCost"] for b in result["buckets"]] == pytest.approx(
        [3 * retail(100), 1 * retail(300)]
    )


async def test_missing_price_is_reported_not_scaled(gql: Gql) -> None:
    await _price(gql, "PT1H", [0], [100.0])  # the second hour has no price
    await hourly(gql, "m:imp", T0, [1.0, 1.0])
    await hourly(gql, "m:exp", T0, [0.0, 0.0])
    await make_site(gql, key="m", gridImport="m:imp", gridExport="m:exp", tariff=DYNAMIC)
    result = await kpis(gql, "m", T0, at(120), "PT1H")
    assert result["total"]["importCost"] == pytest.approx(retail(100))
    assert result["total"]["priceCoverage"] == pytest.approx(0.5)
    assert result["buckets"][1]["importCost"] is None
    missing = [w for w in result["warnings"] if w["code"] == "MISSING_PRICE"]
    assert {w["bucket"] for w in missing} == {1, None}
    assert "MISSING_INTENSITY" in _codes(result)
    assert result["total"]["co2Import"] is None


async def test_upsert_site_errors_are_user_errors(gql: Gql) -> None:
    await series_at(gql, "p", "PRICE", "EUR/MWh", [0], [1.0])
    await series_at(gql, "w", "POWER", "W", [0], [1.0])
    cases = [
        ({"key": "a", "grid": "w", "gridImport": "w", "gridExport": "w"}, "INVALID_SITE"),
        ({"key": "a", "pv": "w"}, "INVALID_SITE"),
        ({"key": "a", "load": "nope"}, "UNKNOWN_SERIES"),
        ({"key": "a", "load": "p"}, "UNSUPPORTED_SERIES"),
        ({"key": "a", "load": "w", "timezone": "Mars/Olympus"}, "INVALID_TIMEZONE"),
    ]
    for site, code in cases:
        body = await gql(UPSERT_SITE, {"input": {**site, "tariff": FIXED}})
        assert body.get("errors") is None, body
        assert [e["code"] for e in body["data"]["upsertSite"]["userErrors"]] == [code], site
    for tariff in ({"kind": "FIXED"}, {"kind": "DYNAMIC", "priceSeries": "p"}):
        body = await gql(UPSERT_SITE, {"input": {"key": "a", "load": "w", "tariff": tariff}})
        assert body["data"]["upsertSite"]["userErrors"][0]["code"] == "INVALID_TARIFF"
    body = await gql(
        UPSERT_SITE,
        {"input": {"key": "a", "load": "w", "tariff": {**DYNAMIC, "priceSeries": "w"}}},
    )
    assert body["data"]["upsertSite"]["userErrors"][0]["code"] == "UNSUPPORTED_SERIES"
    body = await gql("{ sites { key } }")
    assert body["data"]["sites"] == []


async def test_kpi_arguments_are_checked(gql: Gql) -> None:
    await hourly(gql, "a:load", T0, [1.0])
    await make_site(gql, key="a", load="a:load", tariff=FIXED)
    for every, resolution in (("PT1H", "PT7M"), ("PT20M", "PT15M"), ("PT1H", "PT2H")):
        body = await gql(
            """query($r: String!, $e: String!) { site(key: "a") {
                 kpis(from: "2025-06-02T00:00:00Z", to: "2025-06-02T01:00:00Z", every: $e,
                      resolution: $r) { total { consumption } } } }""",
            {"r": resolution, "e": every},
        )
        assert body["errors"][0]["extensions"]["code"] == "INVALID_INTERVAL", (every, resolution)


async def test_meter_registers_and_power_in_one_site(gql: Gql) -> None:
    # Import/export registers in Wh (with a reset on the import meter) and PV power in W.
    await series_at(
        gql, "m:imp", "METER", "Wh", [0, 30, 60], [5000.0, 5500.0, 200.0]
    )  # 0.5 kWh, then a reset: 0.2 kWh
    await series_at(gql, "m:exp", "METER", "Wh", [0, 30, 60], [100.0, 100.0, 1100.0])
    await series_at(
        gql, "m:pv", "POWER", "W", [0, 30, 60], [0.0, 2000.0, 2000.0], integration="LEFT"
    )
    await make_site(gql, key="mm", pv="m:pv", gridImport="m:imp", gridExport="m:exp", tariff=FIXED)
    result = await kpis(gql, "mm", T0, at(60), "PT30M")
    assert [b["gridImport"] for b in result["buckets"]] == pytest.approx([0.5, 0.2])
    assert [b["gridExport"] for b in result["buckets"]] == pytest.approx([0.0, 1.0])
    assert [b["production"] for b in result["buckets"]] == pytest.approx([0.0, 1.0])
    assert [b["consumption"] for b in result["buckets"]] == pytest.approx([0.5, 0.2])


async def test_step_grid_is_budgeted(gql: Gql) -> None:
    await hourly(gql, "l", T0, [1.0])
    await make_site(gql, key="big", load="l", tariff=FIXED)
    body = await gql(
        """{ site(key: "big") { kpis(from: "2000-01-01T00:00:00Z", to: "2010-01-01T00:00:00Z",
             every: "P1Y", resolution: "PT5M") { total { consumption } } } }"""
    )
    assert body["errors"][0]["extensions"]["code"] == "BUDGET_EXCEEDED"
