"""The point budget of raw `samples` without a `limit`: charged what the range holds at the
series' resolution (or its stored count), refused whole when that does not fit, shared by the
fields of one request (docs/limits.md, "Raw samples without a limit")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.settings import Settings
from tests.conftest import Gql, running_app
from tests.resolvers.helpers import INGEST, UPSERT, ingest_input, quarter_hours, series_input

DAY = ("2026-06-01T00:00:00+02:00", "2026-06-02T00:00:00+02:00")
NARROW = "narrow the range, pass a `limit`, or ask for fewer series in one request"


def _samples(key: str, start: str, end: str, extra: str = "", alias: str = "") -> str:
    return (
        f'{alias}series(key: "{key}") {{ key samples(from: "{start}", to: "{end}"{extra}) '
        "{ timestamps values truncated } }"
    )


def _query(*fields: str) -> str:
    return "{ " + " ".join(fields) + " }"


async def _store(gql: Gql, key: str, timestamps: list[str], **fields: Any) -> None:
    body = await gql(UPSERT, {"input": series_input(key, **fields)})
    assert "errors" not in body, body
    body = await gql(INGEST, {"input": ingest_input(key, timestamps, [1.0] * len(timestamps))})
    assert body["data"]["ingest"]["userErrors"] == [], body


@pytest.fixture
async def small(settings: Settings) -> AsyncIterator[Gql]:
    """A gateway whose requests may return 200 points."""
    async with running_app(settings.model_copy(update={"max_request_points": 200})) as (_, c):
        yield _gql_for(c)


def _gql_for(client: httpx.AsyncClient) -> Gql:
    async def run(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await client.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return run


async def test_ten_series_of_a_day_of_quarter_hours_in_one_request(gql: Gql) -> None:
    day = quarter_hours(*DAY)
    for n in range(10):
        await _store(gql, f"q{n}", day, resolution="PT15M", timezone="Europe/Berlin")
    body = await gql(
        f"""{{ seriesList(filter: {{keyPrefix: "q"}}) {{ nodes {{ key
             samples(from: "{DAY[0]}", to: "{DAY[1]}") {{ timestamps truncated }} }} }} }}"""
    )
    assert "errors" not in body, body
    nodes = body["data"]["seriesList"]["nodes"]
    assert [len(n["samples"]["timestamps"]) for n in nodes] == [96] * 10
    assert not any(n["samples"]["truncated"] for n in nodes)


async def test_two_fields_without_limit_both_answer(gql: Gql) -> None:
    day = quarter_hours(*DAY)
    await _store(gql, "a", day, resolution="PT15M")
    await _store(gql, "b", day)  # irregular: counted
    body = await gql(_query(_samples("a", *DAY, alias="a: "), _samples("b", *DAY, alias="b: ")))
    assert "errors" not in body, body
    assert len(body["data"]["a"]["samples"]["values"]) == 96
    assert len(body["data"]["b"]["samples"]["values"]) == 96


async def test_too_much_is_refused_whole_with_what_to_narrow(gql: Gql, small: Gql) -> None:
    day = quarter_hours(*DAY)
    await _store(gql, "a", day, resolution="PT15M")
    await _store(gql, "b", day, resolution="PT15M")
    body = await small(_query(_samples("a", *DAY, alias="a: "), _samples("b", *DAY, alias="b: ")))
    # 96 + 96 fit in 200: both answer.
    assert "errors" not in body, body
    three = await small(
        _query(
            _samples("a", *DAY, alias="a: "),
            _samples("b", *DAY, alias="b: "),
            _samples("a", *DAY, alias="c: "),
        )
    )
    # 288 points asked, 200 allowed: one field is refused (the one whose rows are charged
    # last), whole: it is null, not a first part of its samples.
    [error] = three["errors"]
    assert error["extensions"]["code"] == "BUDGET_EXCEEDED"
    refused, field = error["path"]
    assert field == "samples" and three["data"][refused] is None
    assert (
        "samples of '" in error["message"]
        and "from 2026-06-01T00:00:00+02:00 to" in error["message"]
    )
    assert "up to 96 points, above the 8 left" in error["message"]
    assert NARROW in error["message"]
    answered = [v for alias, v in three["data"].items() if alias != refused]
    assert [len(v["samples"]["values"]) for v in answered] == [96, 96]


async def test_one_field_above_the_whole_budget(gql: Gql, small: Gql) -> None:
    three_days = quarter_hours("2026-06-01T00:00:00Z", "2026-06-04T00:00:00Z")
    await _store(gql, "a", three_days, resolution="PT15M")
    body = await small(_query(_samples("a", "2026-06-01T00:00:00Z", "2026-06-04T00:00:00Z")))
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BUDGET_EXCEEDED"
    assert "more than the 200 points left" in error["message"] and NARROW in error["message"]
    assert body["data"] == {"series": None}


async def test_explicit_limit_still_truncates(gql: Gql, small: Gql) -> None:
    await _store(gql, "a", quarter_hours(*DAY), resolution="PT15M")
    body = await small(_query(_samples("a", *DAY, ", limit: 10")))
    samples = body["data"]["series"]["samples"]
    assert (len(samples["values"]), samples["truncated"]) == (10, True)
    body = await small(_query(_samples("a", *DAY, ", limit: 201")))
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BUDGET_EXCEEDED"]


async def test_sparse_range_is_counted_not_refused(gql: Gql, small: Gql) -> None:
    # A week at PT1M is 10,080 nominal points, far above 200; 50 are stored.
    await _store(gql, "sparse", quarter_hours(*DAY)[:50], resolution="PT1M")
    body = await small(_query(_samples("sparse", "2026-05-28T00:00:00Z", "2026-06-04T00:00:00Z")))
    assert "errors" not in body, body
    assert len(body["data"]["series"]["samples"]["values"]) == 50


@pytest.mark.parametrize(("stored", "refused"), [(200, False), (201, True)])
async def test_irregular_series_is_charged_its_stored_count(
    gql: Gql, small: Gql, stored: int, refused: bool
) -> None:
    times = quarter_hours("2026-06-01T00:00:00Z", "2026-06-04T00:00:00Z")[:stored]
    await _store(gql, "irregular", times)
    body = await small(
        _query(_samples("irregular", "2026-06-01T00:00:00Z", "2026-06-04T00:00:00Z"))
    )
    if refused:
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BUDGET_EXCEEDED"]
        assert body["data"] == {"series": None}
    else:
        assert len(body["data"]["series"]["samples"]["values"]) == stored


async def test_denser_than_its_resolution_is_charged_what_it_returns(gql: Gql, small: Gql) -> None:
    # Declared hourly, stored every quarter hour: 4 nominal points per hour, 16 real ones.
    await _store(gql, "dense", quarter_hours(*DAY), resolution="PT1H")
    ten_hours = ("2026-06-01T00:00:00+02:00", "2026-06-01T10:00:00+02:00")
    body = await small(_query(_samples("dense", *ten_hours)))
    assert len(body["data"]["series"]["samples"]["values"]) == 40
    # 96 rows over the 200 left: refused whole, not cut at the 24 nominal points.
    body = await small(_query(*(_samples("dense", *DAY, alias=f"{a}: ") for a in "abc")))
    codes = [e["extensions"]["code"] for e in body.get("errors", [])]
    assert codes == ["BUDGET_EXCEEDED"], body
    answered = [v for v in body["data"].values() if v is not None]
    assert [len(v["samples"]["values"]) for v in answered] == [96, 96]


@pytest.mark.parametrize(
    ("day", "points"),
    [
        (("2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"), 92),  # 23 h
        (("2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00"), 100),  # 25 h
    ],
)
async def test_dst_days_are_estimated_by_their_real_length(
    gql: Gql, settings: Settings, day: tuple[str, str], points: int
) -> None:
    await _store(gql, "berlin", quarter_hours(*day), resolution="PT15M", timezone="Europe/Berlin")
    query = _query(_samples("berlin", *day))
    for budget, fits in ((points, True), (points - 1, False)):
        update = {"max_request_points": budget}
        async with running_app(settings.model_copy(update=update)) as (_, client):
            body = await _gql_for(client)(query)
        if fits:
            assert len(body["data"]["series"]["samples"]["values"]) == points, body
        else:
            [error] = body["errors"]
            assert error["extensions"]["code"] == "BUDGET_EXCEEDED"


async def test_daily_series_over_dst_days(gql: Gql, small: Gql) -> None:
    # Local midnights of a Berlin daily series: 23 h and 25 h apart around the changes.
    days = ["2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00",
            "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00"]  # fmt: skip
    await _store(gql, "daily", days, resolution="P1D", timezone="Europe/Berlin")
    body = await small(
        _query(_samples("daily", "2026-03-28T00:00:00+01:00", "2026-10-27T00:00:00+01:00"))
    )
    assert body["data"]["series"]["samples"]["timestamps"] == [
        "2026-03-27T23:00:00+00:00", "2026-03-28T23:00:00+00:00", "2026-03-29T22:00:00+00:00",
        "2026-10-24T22:00:00+00:00", "2026-10-25T23:00:00+00:00",
    ]  # fmt: skip


async def test_estimates_above_what_is_stored_give_points_back(gql: Gql, small: Gql) -> None:
    # 96 nominal points but 10 stored, and 150 stored in an irregular series: 160 of 200 are
    # really returned, so both answer whichever is charged first.
    await _store(gql, "gappy", quarter_hours(*DAY)[:10], resolution="PT15M")
    await _store(gql, "irregular", quarter_hours(DAY[0], "2026-06-03T00:00:00Z")[:150])
    body = await small(
        _query(
            _samples("gappy", *DAY, alias="g: "),
            _samples("irregular", "2026-05-31T00:00:00Z", "2026-06-03T00:00:00Z", alias="i: "),
        )
    )
    assert "errors" not in body, body
    assert len(body["data"]["g"]["samples"]["values"]) == 10
    assert len(body["data"]["i"]["samples"]["values"]) == 150
