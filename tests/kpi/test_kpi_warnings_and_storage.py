"""Plausibility warnings on implausible inputs (docs/plausibility.md); KPIs stored as series."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import Gql
from tests.kpi.helpers import T0, at, hourly, iso, kpis, make_site, series_at

FIXED = {"kind": "FIXED", "importPriceCt": 35.0, "feedInCt": 8.1}


def _warnings(result: dict[str, object]) -> set[tuple[str, str, int | None]]:
    items = result["warnings"]
    assert isinstance(items, list)
    return {(w["code"], w["level"], w["bucket"]) for w in items}


async def test_pv_in_w_declared_as_kw_exceeds_the_rating(gql: Gql) -> None:
    # A unit mistake: 5000 "kW" from a 10 kWp roof.
    await series_at(gql, "pv", "POWER", "kW", [0, 15, 30, 45, 60], [5000.0] * 5, resolution="PT15M")
    await hourly(gql, "load", T0, [1.0])
    await make_site(gql, key="u", pv="pv", load="load", pvPeakKw=10.0, tariff=FIXED)
    result = await kpis(gql, "u", T0, at(60), "PT1H")
    assert ("PV_ABOVE_RATING", "WARNING", 0) in _warnings(result)
    # Without a grid meter, 4999 kWh go to export: the value is reported as is.
    assert result["total"]["gridExport"] == pytest.approx(5000 - 1.0)


async def test_wrong_export_sign_gives_negative_load_and_ratio_errors(gql: Gql) -> None:
    # Export larger than production with no battery: the derived load turns negative.
    await hourly(gql, "pv", T0, [2.0, 2.0])
    await hourly(gql, "imp", T0, [0.0, 0.0])
    await hourly(gql, "exp", T0, [5.0, 1.0])
    await make_site(gql, key="s", pv="pv", gridImport="imp", gridExport="exp", tariff=FIXED)
    result = await kpis(gql, "s", T0, at(120), "PT1H")
    found = _warnings(result)
    assert ("NEGATIVE_LOAD", "ERROR", 0) in found
    assert ("RATIO_OUT_OF_RANGE", "ERROR", 0) in found  # SCR = (2 - 5) / 2 < 0
    assert result["buckets"][0]["selfConsumptionRate"] == pytest.approx(-1.5)  # not clamped
    assert ("NEGATIVE_LOAD", "ERROR", 1) not in found


async def test_balance_residual_with_all_meters(gql: Gql) -> None:
    await hourly(gql, "pv", T0, [5.0])
    await hourly(gql, "load", T0, [10.0])
    await hourly(gql, "imp", T0, [4.0])  # G + I = 9 but L + E = 10: 10 % residual
    await hourly(gql, "exp", T0, [0.0])
    await make_site(
        gql, key="b", pv="pv", load="load", gridImport="imp", gridExport="exp", tariff=FIXED
    )
    result = await kpis(gql, "b", T0, at(60), "PT1H")
    assert ("BALANCE_RESIDUAL", "ERROR", None) in _warnings(result)


async def test_low_coverage_of_a_role_series_is_flagged_not_scaled(gql: Gql) -> None:
    await series_at(gql, "load", "POWER", "kW", [0, 15, 30], [1.0, 1.0, 1.0], resolution="PT15M")
    await make_site(gql, key="c", load="load", tariff=FIXED, co2Intensity=363.0)
    result = await kpis(gql, "c", T0, at(60), "PT1H")
    assert result["total"]["consumption"] == pytest.approx(0.5)  # 30 of 60 minutes
    assert result["total"]["coverage"] == pytest.approx(0.5)
    assert ("LOW_COVERAGE", "ERROR", None) in _warnings(result)


async def test_household_scale_checks_over_four_weeks(gql: Gql) -> None:
    # 2 kW around the clock for 28 days: 17,520 kWh/yr is far above a household.
    days = 28
    await hourly(gql, "load", T0, [2.0] * (24 * days))
    await make_site(gql, key="h", load="load", tariff={**FIXED, "feedInCt": 80.0})
    result = await kpis(gql, "h", T0, T0 + timedelta(days=days), "P1W", "UTC", "PT1H")
    found = _warnings(result)
    assert ("CONSUMPTION_IMPLAUSIBLE", "WARNING", None) in found
    assert ("FEED_IN_IMPLAUSIBLE", "WARNING", None) in found
    assert ("MISSING_INTENSITY", "ERROR", None) in found
    assert len(result["buckets"]) == 4


async def test_undefined_ratios_are_null(gql: Gql) -> None:
    await hourly(gql, "imp", T0, [0.0])
    await hourly(gql, "exp", T0, [0.0])
    await make_site(gql, key="z", gridImport="imp", gridExport="exp", tariff=FIXED)
    result = await kpis(gql, "z", T0, at(60), "PT1H")
    assert result["total"]["selfConsumptionRate"] is None  # G = 0
    assert result["total"]["autarky"] is None  # L = 0


STORE = """mutation($kpi: SiteKpiName!, $key: String) {
  storeSiteKpi(site: "k", kpi: $kpi, from: "2025-06-02T00:00:00Z",
               to: "2025-06-04T00:00:00Z", every: "P1D", timezone: "UTC", key: $key) {
    key written skipped userErrors { code message }
  }
}"""


async def test_store_a_kpi_as_a_series_and_read_it_back(gql: Gql) -> None:
    pv = ([0.0] * 10 + [4.0] * 4 + [0.0] * 10) * 2
    load = [1.0] * 48
    await hourly(gql, "pv", T0, pv)
    await hourly(gql, "load", T0, load)
    await make_site(gql, key="k", pv="pv", load="load", tariff=FIXED)
    body = await gql(STORE, {"kpi": "AUTARKY"})
    assert body.get("errors") is None, body
    stored = body["data"]["storeSiteKpi"]
    assert stored == {"key": "site:k:autarky:P1D", "written": 2, "skipped": 0, "userErrors": []}
    body = await gql(
        """{ series(key: "site:k:autarky:P1D") { kind unit labels
             samples(from: "2025-06-01T00:00:00Z", to: "2025-06-05T00:00:00Z") {
               timestamps values } } }"""
    )
    series = body["data"]["series"]
    assert (series["kind"], series["unit"]) == ("KPI", "1")
    assert series["labels"]["kpi"] == "autarky"
    assert series["samples"]["timestamps"] == [iso(T0), iso(T0 + timedelta(days=1))]
    assert series["samples"]["values"] == pytest.approx([4 / 24, 4 / 24])
    again = await gql(STORE, {"kpi": "AUTARKY"})  # recomputing is idempotent
    assert again["data"]["storeSiteKpi"]["written"] == 2


async def test_store_kpi_user_errors(gql: Gql) -> None:
    await hourly(gql, "load", T0, [1.0])
    await series_at(gql, "power", "POWER", "W", [0], [1.0])
    body = await gql(STORE, {"kpi": "SAVINGS"})
    assert body["data"]["storeSiteKpi"]["userErrors"][0]["code"] == "UNKNOWN_SITE"
    await make_site(gql, key="k", load="load", tariff=FIXED)
    body = await gql(STORE, {"kpi": "SAVINGS", "key": "power"})
    assert body["data"]["storeSiteKpi"]["userErrors"][0]["code"] == "NOT_A_KPI_SERIES"


async def test_store_kpi_reports_its_reads_refusal_as_a_user_error_code(gql: Gql) -> None:
    """A refusal of the KPI read that is an `ErrorCode` in a query (here BUDGET_EXCEEDED:
    ten years of PT15M steps) comes back as the `UserErrorCode` of the same name."""
    await hourly(gql, "load", T0, [1.0])
    await make_site(gql, key="k", load="load", tariff=FIXED)
    body = await gql(
        """mutation { storeSiteKpi(site: "k", kpi: SAVINGS, from: "2020-01-01T00:00:00Z",
             to: "2030-01-01T00:00:00Z", every: "P1D", timezone: "UTC") {
             written userErrors { code } } }"""
    )
    assert body.get("errors") is None, body
    stored = body["data"]["storeSiteKpi"]
    assert stored == {"written": 0, "userErrors": [{"code": "BUDGET_EXCEEDED"}]}


async def test_external_kpi_values_are_ingested_and_read_like_any_series(gql: Gql) -> None:
    await series_at(
        gql, "ext:scr", "KPI", "1", [0, 1440], [0.31, 0.42], resolution="P1D",
        labels={"kpi": "self_consumption_rate", "source": "vendor"},
    )  # fmt: skip
    body = await gql(
        """{ series(key: "ext:scr") { kind aggregate(from: "2025-06-02T00:00:00Z",
             to: "2025-06-04T00:00:00Z", every: "P1D", timezone: "UTC") { starts avg } } }"""
    )
    assert body["data"]["series"]["kind"] == "KPI"
    assert body["data"]["series"]["aggregate"]["avg"] == pytest.approx([0.31, 0.42])


async def test_battery_giving_more_than_it_took_is_an_error(gql: Gql) -> None:
    days = 28
    charge = ([0.0] * 12 + [1.0] + [0.0] * 11) * days
    discharge = ([0.0] * 19 + [1.2] + [0.0] * 4) * days  # 120 % round trip
    await hourly(gql, "load", T0, [0.5] * (24 * days))
    await hourly(gql, "c", T0, charge)
    await hourly(gql, "d", T0, discharge)
    await make_site(
        gql, key="bat", load="load", batteryCharge="c", batteryDischarge="d", tariff=FIXED,
        co2Intensity=363.0,
    )  # fmt: skip
    result = await kpis(gql, "bat", T0, T0 + timedelta(days=days), "P1W", "UTC", "PT1H")
    assert ("BATTERY_EFFICIENCY_IMPLAUSIBLE", "ERROR", None) in _warnings(result)
    assert result["total"]["batteryDischarge"] == pytest.approx(1.2 * days)
