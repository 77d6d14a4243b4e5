"""Bucketed reads: DST-correct calendar buckets, fixed buckets, fill modes, budget, errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from starlette.applications import Starlette

from tests.conftest import Gql
from tests.resolvers.helpers import INGEST, UPSERT, ingest_input, quarter_hours, series_input
from tests.resolvers.sqlcount import captured_sql

AGG = """query($from: DateTime!, $to: DateTime!, $every: String!, $tz: String, $fill: Fill) {
  series(key: "s") {
    aggregate(from: $from, to: $to, every: $every, timezone: $tz, fill: $fill) {
      starts ends count avg min max sum first last
    }
  }
}"""


async def load(gql: Gql, timestamps: list[str], values: list[float], tz: str = "UTC") -> None:
    body = await gql(UPSERT, {"input": series_input("s", timezone=tz)})
    assert "errors" not in body, body
    body = await gql(INGEST, {"input": ingest_input("s", timestamps, values)})
    assert body["data"]["ingest"]["userErrors"] == [], body


async def aggregate(gql: Gql, **variables: Any) -> dict[str, Any]:
    body = await gql(AGG, variables)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["series"]["aggregate"]
    return result


def hours(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 3600


@pytest.mark.parametrize(
    ("day_start", "day_end", "samples", "length_h"),
    [
        ("2025-03-30T00:00:00+01:00", "2025-03-31T00:00:00+02:00", 92, 23),
        ("2025-10-26T00:00:00+02:00", "2025-10-27T00:00:00+01:00", 100, 25),
    ],
)
async def test_dst_days_in_berlin(
    gql: Gql, day_start: str, day_end: str, samples: int, length_h: int
) -> None:
    ts = quarter_hours(day_start, day_end)
    await load(gql, ts, [1.0] * len(ts))
    agg = await aggregate(gql, **{"from": day_start, "to": day_end}, every="P1D",
                          tz="Europe/Berlin")  # fmt: skip
    assert agg["count"] == [samples]
    assert hours(agg["starts"][0], agg["ends"][0]) == length_h
    assert datetime.fromisoformat(agg["starts"][0]) == datetime.fromisoformat(day_start)
    assert agg["sum"] == [float(samples)]


async def test_default_zone_is_the_series_zone(gql: Gql) -> None:
    ts = quarter_hours("2025-03-29T00:00:00+01:00", "2025-04-01T00:00:00+02:00")
    await load(gql, ts, [1.0] * len(ts), tz="Europe/Berlin")
    agg = await aggregate(
        gql, **{"from": "2025-03-29T00:00:00+01:00", "to": "2025-04-01T00:00:00+02:00"},
        every="P1D",
    )  # fmt: skip
    assert agg["count"] == [96, 92, 96]
    utc = await aggregate(
        gql, **{"from": "2025-03-29T00:00:00+01:00", "to": "2025-04-01T00:00:00+02:00"},
        every="P1D", tz="UTC",
    )  # fmt: skip
    assert utc["starts"][0] == "2025-03-28T00:00:00+00:00"


async def test_month_bucket_of_march_2025_in_berlin(gql: Gql) -> None:
    await load(gql, ["2025-03-15T12:00:00Z"], [5.0])
    agg = await aggregate(
        gql, **{"from": "2025-03-01T00:00:00+01:00", "to": "2025-04-01T00:00:00+02:00"},
        every="P1M", tz="Europe/Berlin",
    )  # fmt: skip
    assert agg["starts"] == ["2025-02-28T23:00:00+00:00"]
    assert agg["ends"] == ["2025-03-31T22:00:00+00:00"]


async def test_week_buckets_start_on_monday(gql: Gql) -> None:
    # Wednesday 2025-01-08 and Sunday 2025-01-12 fall into the ISO week of Monday 2025-01-06.
    await load(gql, ["2025-01-08T10:00:00Z", "2025-01-12T22:00:00Z", "2025-01-13T00:00:00Z"],
               [1.0, 2.0, 4.0])  # fmt: skip
    agg = await aggregate(
        gql, **{"from": "2025-01-01T00:00:00Z", "to": "2025-02-01T00:00:00Z"}, every="P1W",
        tz="UTC",
    )  # fmt: skip
    assert agg["starts"] == ["2025-01-06T00:00:00+00:00", "2025-01-13T00:00:00+00:00"]
    assert agg["sum"] == [3.0, 4.0]


async def test_hourly_buckets_on_the_25_hour_day(gql: Gql) -> None:
    day_start, day_end = "2025-10-26T00:00:00+02:00", "2025-10-27T00:00:00+01:00"
    ts = quarter_hours(day_start, day_end)
    await load(gql, ts, [float(i) for i in range(len(ts))], tz="Europe/Berlin")
    agg = await aggregate(gql, **{"from": day_start, "to": day_end}, every="PT1H")
    assert len(agg["starts"]) == 25
    assert set(agg["count"]) == {4}
    assert agg["first"][:2] == [0.0, 4.0] and agg["last"][:2] == [3.0, 7.0]
    assert agg["min"][1] == 4.0 and agg["max"][1] == 7.0 and agg["avg"][1] == 5.5


async def test_fixed_buckets_align_to_local_midnight_in_half_hour_zones(gql: Gql) -> None:
    await load(gql, ["2025-01-01T00:10:00Z", "2025-01-01T00:40:00Z"], [1.0, 2.0])
    agg = await aggregate(
        gql, **{"from": "2025-01-01T00:00:00Z", "to": "2025-01-01T02:00:00Z"}, every="PT1H",
        tz="Asia/Kolkata",
    )  # fmt: skip
    # Local hours in India start at :30 UTC.
    assert agg["starts"] == ["2024-12-31T23:30:00+00:00", "2025-01-01T00:30:00+00:00"]


GAPPY: dict[str, Any] = {
    "ts": ["2025-01-01T00:00:00Z", "2025-01-01T03:00:00Z", "2025-01-01T04:00:00Z"],
    "values": [10.0, 40.0, 50.0],
}
WINDOW = {"from": "2025-01-01T00:00:00Z", "to": "2025-01-01T06:00:00Z"}


@pytest.mark.parametrize(
    ("fill", "avg", "count"),
    [
        ("NONE", [10.0, 40.0, 50.0], [1, 1, 1]),
        ("NULL", [10.0, None, None, 40.0, 50.0, None], [1, 0, 0, 1, 1, 0]),
        ("ZERO", [10.0, 0.0, 0.0, 40.0, 50.0, 0.0], [1, 0, 0, 1, 1, 0]),
        ("LOCF", [10.0, 10.0, 10.0, 40.0, 50.0, 50.0], [1, 0, 0, 1, 1, 0]),
        ("LINEAR", [10.0, 20.0, 30.0, 40.0, 50.0, None], [1, 0, 0, 1, 1, 0]),
    ],
)
async def test_fill_modes_on_data_with_gaps(
    gql: Gql, fill: str, avg: list[float | None], count: list[int]
) -> None:
    await load(gql, GAPPY["ts"], GAPPY["values"])
    agg = await aggregate(gql, **WINDOW, every="PT1H", fill=fill)
    assert agg["avg"] == pytest.approx(avg) if None not in avg else agg["avg"] == avg
    assert agg["count"] == count
    if fill != "NONE":
        assert len(agg["starts"]) == 6
        assert agg["ends"][-1] == "2025-01-01T06:00:00+00:00"


async def test_linear_fill_weights_by_time_across_a_dst_day(gql: Gql) -> None:
    # Daily buckets around the 23-hour day: the empty day is interpolated by elapsed time.
    await load(gql, ["2025-03-29T12:00:00Z", "2025-03-31T12:00:00Z"], [0.0, 47.0],
               tz="Europe/Berlin")  # fmt: skip
    agg = await aggregate(
        gql, **{"from": "2025-03-29T00:00:00+01:00", "to": "2025-04-01T00:00:00+02:00"},
        every="P1D", fill="LINEAR",
    )  # fmt: skip
    # Bucket starts: 29th 00:00+01, 30th 00:00+01, 31st 00:00+02 -> 24 h then 23 h apart.
    assert agg["avg"] == pytest.approx([0.0, 24.0, 47.0])


async def test_fill_generates_every_calendar_bucket(gql: Gql) -> None:
    await load(gql, ["2025-03-10T12:00:00Z"], [1.0], tz="Europe/Berlin")
    agg = await aggregate(
        gql, **{"from": "2025-01-01T00:00:00+01:00", "to": "2026-01-01T00:00:00+01:00"},
        every="P1M", fill="ZERO",
    )  # fmt: skip
    assert len(agg["starts"]) == 12
    assert agg["starts"][3] == "2025-03-31T22:00:00+00:00"  # April starts in summer time
    assert agg["ends"][:-1] == agg["starts"][1:]
    assert agg["count"] == [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"every": "PT0M"}, "INVALID_INTERVAL"),
        ({"every": "P2D"}, "INVALID_INTERVAL"),
        ({"every": "fortnight"}, "INVALID_INTERVAL"),
        ({"every": "PT1H", "tz": "Mars/Olympus"}, "INVALID_TIMEZONE"),
        ({"every": "PT1H", "tz": "UTC+3"}, "INVALID_TIMEZONE"),
        ({"every": "PT1H", "from": "2025-01-02T00:00:00Z"}, "INVALID_RANGE"),
        ({"every": "PT1H", "from": "2025-01-01T00:00:00"}, "NAIVE_TIMESTAMP"),
        ({"every": "PT1H", "from": "0001-01-01T00:00:00+14:00"}, "TIMESTAMP_OUT_OF_RANGE"),
    ],
)
async def test_bad_arguments_are_typed_errors(
    gql: Gql, variables: dict[str, Any], code: str
) -> None:
    await load(gql, ["2025-01-01T00:00:00Z"], [1.0])
    args = {"from": "2025-01-01T00:00:00Z", "to": "2025-01-02T00:00:00Z", **variables}
    body = await gql(AGG, args)
    assert body["data"] == {"series": None} or body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]


async def test_budget_rejects_before_any_sql(gql: Gql, app: Starlette) -> None:
    await load(gql, ["2025-01-01T00:00:00Z"], [1.0])
    with captured_sql(app) as statements:
        body = await gql(
            AGG, {"from": "2020-01-01T00:00:00Z", "to": "2025-01-01T00:00:00Z", "every": "PT1M"}
        )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BUDGET_EXCEEDED"]
    assert not any("samples" in s for s in statements), statements


async def test_only_selected_aggregates_are_computed(gql: Gql, app: Starlette) -> None:
    await load(gql, ["2025-01-01T00:00:00Z"], [1.0])
    with captured_sql(app) as statements:
        body = await gql(
            """{ series(key: "s") { aggregate(from: "2025-01-01T00:00:00Z",
                 to: "2025-01-02T00:00:00Z", every: "PT1H") { starts ...F } } }
               fragment F on BucketColumns { max }"""
        )
    assert body["data"]["series"]["aggregate"]["max"] == [1.0]
    (statement,) = [s for s in statements if "FROM samples" in s]

    def computes(name: str) -> bool:
        # Raw path: max(value); TimescaleDB rollup path: r.max (or r.sum for avg).
        return f"{name}(value" in statement or f"r.{name} " in statement

    assert computes("max")
    assert not any(computes(a) for a in ("avg", "min", "sum", "first", "last"))
