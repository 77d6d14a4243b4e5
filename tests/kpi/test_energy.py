"""Energy from POWER, METER and ENERGY series through `Series.energy` (docs/domain.md §2)."""

from __future__ import annotations

from datetime import datetime, tzinfo

import pytest

from tests.conftest import Gql
from tests.kpi.helpers import ENERGY, at, codes, energy, iso, series_at

BERLIN = "Europe/Berlin"


@pytest.mark.parametrize("method", ["TRAPEZOIDAL", "LEFT", "MEAN"])
async def test_e1_constant_power_every_method(gql: Gql, method: str) -> None:
    minutes = [0, 15, 30, 45, 60, 75, 90]
    await series_at(
        gql, "e1", "POWER", "kW", minutes, [2.0] * 7, integration=method, resolution="PT15M"
    )
    result = await energy(gql, "e1", at(0), at(90), "PT1H")
    assert result["total"]["kwh"] == pytest.approx(3.0)
    assert result["total"]["coverage"] == pytest.approx(1.0)
    assert result["kwh"] == pytest.approx([2.0, 1.0])
    assert result["method"] == method


@pytest.mark.parametrize(("method", "expected"), [("TRAPEZOIDAL", 1.125), ("LEFT", 0.75)])
async def test_e2_ramp(gql: Gql, method: str, expected: float) -> None:
    await series_at(
        gql, "e2", "POWER", "kW", [0, 15, 30, 45], [0, 1, 2, 3], integration=method,
        resolution="PT15M",
    )  # fmt: skip
    result = await energy(gql, "e2", at(0), at(45), "PT1H")
    assert result["total"]["kwh"] == pytest.approx(expected)


@pytest.mark.parametrize(("method", "expected"), [("LEFT", 3.0), ("TRAPEZOIDAL", 31.5)])
async def test_e3_report_on_change_heater(gql: Gql, method: str, expected: float) -> None:
    # No resolution and no gap limit: a report-on-change plug. LEFT is right; the trapezoid
    # invents 28.5 kWh over the ten quiet hours (the HA PR-116736 failure mode).
    await series_at(gql, "heater", "POWER", "W", [0, 600, 630], [0, 6000, 0], integration=method)
    result = await energy(gql, "heater", at(0), at(630), "P1D", "UTC")
    assert result["total"]["kwh"] == pytest.approx(expected)
    assert result["maxGap"] is None


async def test_e3_default_without_resolution_is_left(gql: Gql) -> None:
    await series_at(gql, "plug", "POWER", "W", [0, 600, 630], [0, 6000, 0])
    result = await energy(gql, "plug", at(0), at(630), "P1D", "UTC")
    assert result["method"] == "LEFT"
    assert result["total"]["kwh"] == pytest.approx(3.0)


@pytest.mark.parametrize("method", ["TRAPEZOIDAL", "LEFT"])
async def test_e4_gap_is_not_integrated_and_coverage_is_60_percent(gql: Gql, method: str) -> None:
    minutes = [0, 15, 30, 45, 60, 120, 135, 150]
    await series_at(
        gql, "e4", "POWER", "kW", minutes, [2.0] * 8, integration=method, maxGap="PT30M"
    )
    result = await energy(gql, "e4", at(0), at(150), "PT1H")
    assert result["total"]["kwh"] == pytest.approx(3.0)
    assert result["total"]["coverage"] == pytest.approx(0.6)
    assert result["maxGap"] == "PT30M"
    # Hour 1 lies in the gap: no energy, coverage 0 (not a silent zero).
    assert result["kwh"] == pytest.approx([2.0, None, 1.0])
    assert result["coverage"] == pytest.approx([1.0, 0.0, 1.0])
    low = [w for w in result["warnings"] if w["code"] == "LOW_COVERAGE"]
    assert {(w["bucket"], w["level"]) for w in low} == {(1, "ERROR"), (None, "ERROR")}


async def test_e4_without_gap_limit_trapezoid_bridges_the_gap(gql: Gql) -> None:
    minutes = [0, 15, 30, 45, 60, 120, 135, 150]
    await series_at(
        gql, "e4b", "POWER", "kW", minutes, [2.0] * 8, integration="TRAPEZOIDAL", maxGap="PT2H"
    )
    result = await energy(gql, "e4b", at(0), at(150), "PT1H")
    assert result["total"]["kwh"] == pytest.approx(5.0)


async def test_default_gap_is_twice_the_resolution(gql: Gql) -> None:
    # resolution PT15M -> max gap PT30M: the 45-minute hole is skipped.
    await series_at(gql, "dg", "POWER", "kW", [0, 15, 60, 75], [1.0] * 4, resolution="PT15M")
    result = await energy(gql, "dg", at(0), at(75), "PT1H")
    assert result["maxGap"] == "PT30M"
    assert result["total"]["kwh"] == pytest.approx(0.5)
    assert result["total"]["coverage"] == pytest.approx(30 / 75)


async def test_e5_counter_reset(gql: Gql) -> None:
    await series_at(
        gql, "e5", "METER", "kWh", [0, 15, 30, 45, 60], [1000.0, 1000.5, 1001.2, 3.1, 3.9]
    )
    result = await energy(gql, "e5", at(0), at(60), "PT15M")
    assert result["kwh"] == pytest.approx([0.5, 0.7, 3.1, 0.8])
    assert result["total"]["kwh"] == pytest.approx(5.1)
    assert result["total"]["resets"] == 1
    assert result["resets"] == [0, 0, 1, 0]
    assert "METER_RESET" in codes(result)
    assert result["method"] == "METER"


async def test_e6_rollover_at_the_modulus(gql: Gql) -> None:
    await series_at(gql, "e6", "METER", "kWh", [0, 15], [99999.5, 0.3], meterModulus=100000)
    result = await energy(gql, "e6", at(0), at(15), "PT15M")
    assert result["total"]["kwh"] == pytest.approx(0.8)
    assert result["total"]["rollovers"] == 1
    assert result["total"]["resets"] == 0


async def test_e6_without_modulus_the_drop_is_a_reset(gql: Gql) -> None:
    await series_at(gql, "e6r", "METER", "kWh", [0, 15], [99999.5, 0.3])
    result = await energy(gql, "e6r", at(0), at(15), "PT15M")
    assert result["total"]["kwh"] == pytest.approx(0.3)
    assert result["total"]["resets"] == 1


async def test_e7_dip_counts_zero_and_keeps_the_baseline(gql: Gql) -> None:
    await series_at(gql, "e7", "METER", "kWh", [0, 15, 30], [1001.2, 1001.1, 1001.4])
    result = await energy(gql, "e7", at(0), at(30), "PT15M")
    assert result["kwh"] == pytest.approx([0.0, 0.2])
    assert result["total"]["dips"] == 1
    assert result["total"]["kwh"] == pytest.approx(0.2)


async def test_meter_gap_loses_no_energy(gql: Gql) -> None:
    # A 2-hour communication gap: the delta after it holds everything (split by time).
    await series_at(gql, "mg", "METER", "Wh", [0, 15, 135], [0, 500, 4500])
    result = await energy(gql, "mg", at(0), at(180), "PT1H")
    assert result["total"]["kwh"] == pytest.approx(4.5)
    assert result["kwh"] == pytest.approx([0.5 + 4.0 * 45 / 120, 4.0 * 60 / 120, 4.0 * 15 / 120])


async def test_e8_signed_grid_power_is_split_before_integrating(gql: Gql) -> None:
    await series_at(
        gql, "grid", "POWER", "kW", [0, 15, 30, 45], [3, 1, -1, -3], integration="TRAPEZOIDAL"
    )
    result = await energy(gql, "grid", at(0), at(45), "PT1H")
    assert result["total"]["positiveKwh"] == pytest.approx(0.625)
    assert result["total"]["negativeKwh"] == pytest.approx(0.625)
    assert result["total"]["kwh"] == pytest.approx(0.0)


async def test_interval_straddling_a_bucket_edge_is_split_at_the_edge(gql: Gql) -> None:
    # 0 kW at 00:50, 4 kW at 01:10: the power at 01:00 is interpolated to 2 kW.
    await series_at(
        gql, "edge", "POWER", "kW", [50, 70], [0.0, 4.0], integration="TRAPEZOIDAL",
        maxGap="PT1H",
    )  # fmt: skip
    result = await energy(gql, "edge", at(0), at(120), "PT1H")
    assert result["kwh"] == pytest.approx([(0 + 2) / 2 / 6, (2 + 4) / 2 / 6])
    assert result["total"]["kwh"] == pytest.approx(4 / 2 / 3)
    assert result["coverage"] == pytest.approx([10 / 60, 10 / 60])


async def test_left_interval_split_at_the_edge_and_at_the_range(gql: Gql) -> None:
    await series_at(
        gql, "edgel", "POWER", "kW", [30, 90], [6.0, 0.0], integration="LEFT", maxGap="PT2H"
    )
    result = await energy(gql, "edgel", at(45), at(120), "PT1H")
    assert result["kwh"] == pytest.approx([1.5, 3.0])
    # After the last sample (01:30) nothing is known: half of the second hour is uncovered.
    assert result["coverage"] == pytest.approx([1.0, 0.5])


@pytest.mark.parametrize(
    ("day", "end", "hours"),
    [
        ("2025-10-26T00:00:00+02:00", "2025-10-27T00:00:00+01:00", 25),
        ("2025-03-30T00:00:00+01:00", "2025-03-31T00:00:00+02:00", 23),
    ],
)
async def test_dst_days_have_23_and_25_hours_of_energy(
    gql: Gql, day: str, end: str, hours: int
) -> None:
    start, stop = datetime.fromisoformat(day), datetime.fromisoformat(end)
    minutes = [15 * i for i in range(hours * 4 + 1)]
    await series_at(
        gql, "dst", "POWER", "W", minutes, [1000.0] * len(minutes), origin=start,
        resolution="PT15M", timezone=BERLIN,
    )  # fmt: skip
    result = await energy(gql, "dst", start, stop, "P1D")
    assert result["kwh"] == pytest.approx([float(hours)])
    assert result["ends"] == [stop.astimezone(result_tz(result)).isoformat()]
    assert result["coverage"] == pytest.approx([1.0])
    hourly = await energy(gql, "dst", start, stop, "PT1H")
    assert len(hourly["starts"]) == hours
    assert hourly["kwh"] == pytest.approx([1.0] * hours)


def result_tz(result: dict[str, object]) -> tzinfo | None:
    ends = result["ends"]
    assert isinstance(ends, list)
    return datetime.fromisoformat(ends[0]).tzinfo


async def test_e1_e4_on_the_25_hour_day_across_the_repeated_hour(gql: Gql) -> None:
    # 02:00-03:00 local happens twice on 2025-10-26; gap handling must use elapsed time.
    origin = datetime.fromisoformat("2025-10-26T01:00:00+02:00")
    minutes = [0, 15, 30, 45, 60, 120, 135, 150]
    await series_at(
        gql, "dst4", "POWER", "kW", minutes, [2.0] * 8, origin=origin, integration="LEFT",
        maxGap="PT30M", timezone=BERLIN,
    )  # fmt: skip
    result = await energy(gql, "dst4", at(0, origin), at(150, origin), "P1D")
    assert result["total"]["kwh"] == pytest.approx(3.0)
    assert result["total"]["coverage"] == pytest.approx(0.6)


async def test_hourly_energy_series_on_a_dst_day(gql: Gql) -> None:
    start = datetime.fromisoformat("2025-10-26T00:00:00+02:00")
    hours = list(range(25))
    await series_at(
        gql, "hourly", "ENERGY", "MWh", [60 * h for h in hours], [0.002] * 25, origin=start,
        resolution="PT1H", timezone=BERLIN,
    )  # fmt: skip
    result = await energy(gql, "hourly", start, at(25 * 60, start), "P1D")
    assert result["kwh"] == pytest.approx([50.0])
    quarters = await energy(gql, "hourly", start, at(60, start), "PT15M")
    assert quarters["kwh"] == pytest.approx([0.5] * 4)  # spread evenly inside its hour


@pytest.mark.parametrize(("unit", "value"), [("W", 2000.0), ("kW", 2.0), ("MW", 0.002)])
async def test_power_units_convert_to_kwh(gql: Gql, unit: str, value: float) -> None:
    await series_at(gql, "u", "POWER", unit, [0, 60], [value, value], integration="LEFT")
    assert (await energy(gql, "u", at(0), at(60), "PT1H"))["total"]["kwh"] == pytest.approx(2.0)


@pytest.mark.parametrize(("unit", "value"), [("Wh", 2000.0), ("kWh", 2.0), ("MWh", 0.002)])
async def test_energy_units_convert_to_kwh(gql: Gql, unit: str, value: float) -> None:
    await series_at(gql, "u", "ENERGY", unit, [0], [value], resolution="PT1H")
    assert (await energy(gql, "u", at(0), at(60), "PT1H"))["total"]["kwh"] == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("kind", "unit", "every", "code"),
    [
        ("PRICE", "EUR/MWh", "PT1H", "UNSUPPORTED_SERIES"),
        ("POWER", "hp", "PT1H", "UNSUPPORTED_SERIES"),
        ("POWER", "W", "PT7X", "INVALID_INTERVAL"),
    ],
)
async def test_bad_input_is_a_typed_error(
    gql: Gql, kind: str, unit: str, every: str, code: str
) -> None:
    await series_at(gql, "bad", kind, unit, [0], [1.0])
    body = await gql(ENERGY, {"key": "bad", "from": iso(at(0)), "to": iso(at(60)), "every": every})
    assert body["errors"][0]["extensions"]["code"] == code


async def test_naive_from_is_rejected(gql: Gql) -> None:
    await series_at(gql, "n", "POWER", "W", [0], [1.0])
    body = await gql(
        ENERGY, {"key": "n", "from": "2025-06-02T00:00:00", "to": iso(at(60)), "every": "PT1H"}
    )
    assert body["errors"][0]["extensions"]["code"] == "NAIVE_TIMESTAMP"


async def test_bad_max_gap_is_rejected(gql: Gql) -> None:
    body = await gql(
        """mutation { upsertSeries(input: {key: "g", kind: POWER, unit: "W", maxGap: "P1M"})
           { key } }"""
    )
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INTERVAL"


async def test_integration_metadata_round_trips_and_is_kept_on_update(gql: Gql) -> None:
    body = await gql(
        """mutation { upsertSeries(input: {key: "m", kind: METER, unit: "kWh",
             integration: LEFT, maxGap: "PT45M", meterModulus: 100000}) {
             integration maxGap meterModulus } }"""
    )
    assert body["data"]["upsertSeries"] == {
        "integration": "LEFT",
        "maxGap": "PT45M",
        "meterModulus": 100000.0,
    }
    body = await gql(
        """mutation { upsertSeries(input: {key: "m", kind: METER, unit: "kWh", name: "x"}) {
             integration maxGap meterModulus } }"""
    )
    assert body["data"]["upsertSeries"]["maxGap"] == "PT45M"
    assert body["data"]["upsertSeries"]["meterModulus"] == 100000.0


@pytest.mark.parametrize(
    ("method", "day1", "day2"),
    [("LEFT", 1.0, 3.5), ("TRAPEZOIDAL", (1 + 3.5 / 4.5) / 2, 3.5 / 4.5 / 2 * 3.5)],
)
async def test_interval_across_local_midnight_and_the_repeated_hour(
    gql: Gql, method: str, day1: float, day2: float
) -> None:
    # 23:00 CEST on 25 Oct to 02:30 CET on 26 Oct is 4.5 h elapsed; the Berlin day edge
    # (22:00Z) cuts it after 1 h.
    origin = datetime.fromisoformat("2025-10-25T23:00:00+02:00")
    await series_at(
        gql, "mid", "POWER", "kW", [0, 270], [1.0, 0.0], origin=origin, integration=method,
        maxGap="PT6H", timezone=BERLIN,
    )  # fmt: skip
    start = datetime.fromisoformat("2025-10-25T00:00:00+02:00")
    end = datetime.fromisoformat("2025-10-27T00:00:00+01:00")
    result = await energy(gql, "mid", start, end, "P1D")
    assert result["kwh"] == pytest.approx([day1, day2])
    assert result["coverage"] == pytest.approx([1 / 24, 3.5 / 25])
