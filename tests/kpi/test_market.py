"""`marketPrice` and `gridIntensity` over the SMARD scraper's series keys."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conftest import Gql
from tests.kpi.helpers import T0, at, iso, series_at

PRICE = """query($res: MarketResolution!, $from: DateTime!, $to: DateTime!, $every: String!) {
  marketPrice(zone: "DE-LU", resolution: $res, from: $from, to: $to, every: $every,
              timezone: "Europe/Berlin") {
    key starts ends eurPerMwh ctPerKwh coverage
    total { eurPerMwh ctPerKwh coverage }
    warnings { code level bucket value }
  }
}"""
INTENSITY = """query($from: DateTime!, $to: DateTime!, $every: String!,
                     $family: EmissionFactorFamily!, $factors: [EmissionFactorInput!]) {
  gridIntensity(region: "DE", from: $from, to: $to, every: $every, family: $family,
                factors: $factors) {
    starts gPerKwh generationMwh coverage
    total { gPerKwh generationMwh coverage }
    factors { filter fuel gPerKwh key present }
    warnings { code level bucket value }
  }
}"""


async def _price(
    gql: Gql, resolution: str, minutes: list[float], values: list[float], origin: datetime = T0
) -> None:
    iso_res = {"quarterhour": "PT15M", "hour": "PT1H"}[resolution]
    await series_at(
        gql, f"smard:4169:DE-LU:{resolution}", "PRICE", "EUR/MWh", minutes, values,
        origin=origin, resolution=iso_res, timezone="Europe/Berlin",
    )  # fmt: skip


async def test_quarter_hour_prices_average_time_weighted_into_hours(gql: Gql) -> None:
    await _price(gql, "quarterhour", [0, 15, 30, 45, 60, 75, 90, 105], [40, 80, 120, 160] * 2)
    body = await gql(
        PRICE, {"res": "QUARTERHOUR", "from": iso(T0), "to": iso(at(120)), "every": "PT1H"}
    )
    assert body.get("errors") is None, body
    price = body["data"]["marketPrice"]
    assert price["key"] == "smard:4169:DE-LU:quarterhour"
    assert price["eurPerMwh"] == pytest.approx([100.0, 100.0])
    assert price["ctPerKwh"] == pytest.approx([10.0, 10.0])
    assert price["total"]["eurPerMwh"] == pytest.approx(100.0)
    assert price["warnings"] == []


async def test_hourly_price_over_a_dst_day_and_partial_coverage(gql: Gql) -> None:
    start = datetime.fromisoformat("2025-10-26T00:00:00+02:00")
    hours = range(22)
    await _price(gql, "hour", [60 * h for h in hours], [float(h) for h in hours], start)
    # The 25-hour day has 22 of 25 hours priced: a time-weighted mean of what is there.
    end = datetime.fromisoformat("2025-10-27T00:00:00+01:00")
    body = await gql(PRICE, {"res": "HOUR", "from": iso(start), "to": iso(end), "every": "P1D"})
    assert body.get("errors") is None, body
    price = body["data"]["marketPrice"]
    assert price["eurPerMwh"] == pytest.approx([sum(hours) / 22])
    assert price["coverage"] == pytest.approx([22 / 25])
    assert {(w["code"], w["level"]) for w in price["warnings"]} == {("LOW_COVERAGE", "ERROR")}


async def test_price_outside_the_market_limits_is_an_error_warning(gql: Gql) -> None:
    await _price(gql, "hour", [0, 60], [5000.0, 500.0])
    body = await gql(PRICE, {"res": "HOUR", "from": iso(T0), "to": iso(at(120)), "every": "PT1H"})
    warnings = body["data"]["marketPrice"]["warnings"]
    assert [(w["code"], w["level"], w["bucket"]) for w in warnings] == [
        ("PRICE_OUT_OF_RANGE", "ERROR", 0),
        ("PRICE_OUT_OF_RANGE", "WARNING", 1),
    ]


async def test_one_extreme_hour_inside_a_day_is_flagged_for_that_day(gql: Gql) -> None:
    # The 25-hour day of 2025-10-26 in Berlin: 24 hours at 50, one at 4,000 EUR/MWh. The daily
    # mean (208) is plausible; the rule checks every price interval, so the day is flagged.
    start = datetime.fromisoformat("2025-10-26T00:00:00+02:00")
    values = [50.0] * 25
    values[19] = 4000.0
    await _price(gql, "hour", [60 * h for h in range(25)], values, start)
    end = datetime.fromisoformat("2025-10-27T00:00:00+01:00")
    variables = {"res": "HOUR", "from": iso(start), "to": iso(end), "every": "P1D"}
    price = (await gql(PRICE, variables))["data"]["marketPrice"]
    assert price["eurPerMwh"] == pytest.approx([(24 * 50 + 4000) / 25])
    assert price["coverage"] == pytest.approx([1.0])
    # 4,000 is the SDAC ceiling itself: outside the usual range, inside the hard limits.
    assert price["warnings"] == [
        {"code": "PRICE_OUT_OF_RANGE", "level": "WARNING", "bucket": 0, "value": 4000.0}
    ]
    values[3] = -600.0  # below the SDAC floor: an ERROR, reported next to the high one
    await _price(gql, "hour", [60 * h for h in range(25)], values, start)
    warnings = (await gql(PRICE, variables))["data"]["marketPrice"]["warnings"]
    assert [(w["code"], w["level"], w["value"]) for w in warnings] == [
        ("PRICE_OUT_OF_RANGE", "ERROR", -600.0),
        ("PRICE_OUT_OF_RANGE", "WARNING", 4000.0),
    ]
    hourly = await gql(PRICE, {**variables, "every": "PT1H"})
    flagged = [(w["bucket"], w["level"]) for w in hourly["data"]["marketPrice"]["warnings"]]
    assert flagged == [(3, "ERROR"), (19, "WARNING")]


async def test_unknown_price_series_is_not_found(gql: Gql) -> None:
    body = await gql(PRICE, {"res": "HOUR", "from": iso(T0), "to": iso(at(60)), "every": "PT1H"})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# Two hours of generation by fuel (MWh): filter -> values.
MIX = {
    1223: [10.0, 30.0],  # lignite
    4071: [20.0, 0.0],  # gas
    4067: [50.0, 10.0],  # wind onshore
    4068: [20.0, 0.0],  # photovoltaics
    4070: [100.0, 100.0],  # pumped storage: stored energy, must be excluded
}


async def _mix(gql: Gql) -> None:
    for fid, values in MIX.items():
        await series_at(
            gql, f"smard:{fid}:DE:hour", "ENERGY", "MWh", [0, 60], values, resolution="PT1H"
        )


async def test_intensity_of_a_known_mix_lifecycle(gql: Gql) -> None:
    await _mix(gql)
    variables = {"from": iso(T0), "to": iso(at(120)), "every": "PT1H", "family": "LIFECYCLE"}
    body = await gql(INTENSITY, variables)
    assert body.get("errors") is None, body
    ci = body["data"]["gridIntensity"]
    hour1 = (10 * 1120 + 20 * 490 + 50 * 11 + 20 * 45) / 100  # 224.5
    hour2 = (30 * 1120 + 10 * 11) / 40  # 842.75
    assert ci["gPerKwh"] == pytest.approx([hour1, hour2])
    assert ci["generationMwh"] == pytest.approx([100.0, 40.0])  # pumped storage left out
    # Generation-weighted over the two hours, not the mean of the hourly values.
    total = (hour1 * 100 + hour2 * 40) / 140
    assert ci["total"]["gPerKwh"] == pytest.approx(total)
    assert ci["total"]["gPerKwh"] != pytest.approx((hour1 + hour2) / 2)
    daily = await gql(INTENSITY, {**variables, "every": "P1D"})
    assert daily["data"]["gridIntensity"]["gPerKwh"] == pytest.approx([total])
    codes = {(w["code"], w["level"], w["bucket"]) for w in ci["warnings"]}
    assert ("INTENSITY_OUT_OF_RANGE", "WARNING", 1) in codes  # 843 g/kWh > 800
    assert ("MISSING_FUEL", "WARNING", None) in codes  # nuclear, hydro, ... not published
    present = {f["filter"] for f in ci["factors"] if f["present"]}
    assert present == {1223, 4071, 4067, 4068}
    assert 4070 not in {f["filter"] for f in ci["factors"]}


async def test_intensity_direct_factors_and_request_overrides(gql: Gql) -> None:
    await _mix(gql)
    variables = {"from": iso(T0), "to": iso(at(60)), "every": "PT1H", "family": "DIRECT"}
    body = await gql(INTENSITY, variables)
    assert body["data"]["gridIntensity"]["gPerKwh"] == pytest.approx([(10 * 1100 + 20 * 400) / 100])
    override = [{"filter": 1223, "gPerKwh": 1000.0}]
    body = await gql(INTENSITY, {**variables, "factors": override})
    assert body["data"]["gridIntensity"]["gPerKwh"] == pytest.approx([(10 * 1000 + 20 * 400) / 100])
    body = await gql(INTENSITY, {**variables, "factors": [{"filter": 4070, "gPerKwh": 1.0}]})
    assert body["errors"][0]["extensions"]["code"] == "UNKNOWN_FACTOR"


async def test_site_co2_uses_smard_intensity_per_step(gql: Gql) -> None:
    await _mix(gql)
    await series_at(gql, "imp", "ENERGY", "kWh", [0, 60], [1.0, 2.0], resolution="PT1H")
    await series_at(gql, "load", "ENERGY", "kWh", [0, 60], [1.0, 2.0], resolution="PT1H")
    body = await gql(
        """mutation { upsertSite(input: {key: "c", load: "load", gridImport: "imp",
             gridExport: "imp", tariff: {kind: FIXED, importPriceCt: 30}})
           { userErrors { code } } }"""
    )
    assert body["data"]["upsertSite"]["userErrors"] == []
    body = await gql(
        """{ site(key: "c") { kpis(from: "2025-06-02T00:00:00Z", to: "2025-06-02T02:00:00Z",
             every: "PT2H") { total { co2Import intensityCoverage } } } }"""
    )
    total = body["data"]["site"]["kpis"]["total"]
    # Import is also export here (same series): CO2 counts the import only.
    expected = (1.0 * 224.5 + 2.0 * 842.75) / 1000
    assert total["co2Import"] == pytest.approx(expected)
    assert total["intensityCoverage"] == pytest.approx(1.0)
