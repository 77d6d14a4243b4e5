"""Series metadata: upsert, lookup, filtered cursor pagination, DataLoader batching, deletes."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from starlette.applications import Starlette

from tests.conftest import Gql
from tests.resolvers.helpers import INGEST, UPSERT, ingest_input, series_input
from tests.resolvers.sqlcount import captured_sql

LIST = """query($filter: SeriesFilter, $first: Int, $after: String) {
  seriesList(filter: $filter, first: $first, after: $after) {
    edges { cursor node { key } } nodes { key } pageInfo { hasNextPage endCursor }
  }
}"""


async def upsert(gql: Gql, **fields: Any) -> dict[str, Any]:
    body = await gql(UPSERT, {"input": fields})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["upsertSeries"]
    return result


async def test_upsert_creates_then_updates_keeping_omitted_fields(gql: Gql) -> None:
    created = await upsert(
        gql, **series_input("pv", name="PV", timezone="Europe/Berlin", resolution="PT15M",
                            labels={"site": "a"}, source="inverter"),
    )  # fmt: skip
    assert created == {
        "key": "pv", "name": "PV", "kind": "POWER", "unit": "W", "timezone": "Europe/Berlin",
        "resolution": "PT15M", "labels": {"site": "a"}, "source": "inverter",
    }  # fmt: skip
    updated = await upsert(gql, key="pv", kind="POWER", unit="kW", name="Roof PV")
    assert updated == {**created, "unit": "kW", "name": "Roof PV"}


async def test_defaults_for_a_minimal_series(gql: Gql) -> None:
    created = await upsert(gql, **series_input("x"))
    assert (created["name"], created["timezone"], created["labels"]) == ("x", "UTC", {})


async def test_unknown_series_is_null(gql: Gql) -> None:
    body = await gql('{ series(key: "missing") { key } }')
    assert body == {"data": {"series": None}}


@pytest.mark.parametrize(
    "fields",
    [
        series_input(""),
        series_input("has space"),
        series_input("x" * 201),
        series_input("x", timezone="Berlin/Nowhere"),
        series_input("x", resolution="15 minutes"),
        series_input("x", resolution="PT1.5S"),  # a resolution has no fraction
        series_input("x", resolution="pt15m"),  # and is written in upper case
        series_input("x", labels=["not", "an", "object"]),
        series_input("x", unit=""),
    ],
)
async def test_bad_series_input_is_a_typed_error(
    gql: Gql, sql: asyncpg.Connection, fields: dict[str, Any]
) -> None:
    body = await gql(UPSERT, {"input": fields})
    codes = [e["extensions"]["code"] for e in body["errors"]]
    assert codes in (["BAD_USER_INPUT"], ["INVALID_TIMEZONE"])
    assert await sql.fetchval("SELECT count(*) FROM series") == 0


async def test_list_filters_and_paginates(gql: Gql) -> None:
    for i in range(7):
        await upsert(
            gql, key=f"site:{i}", kind="POWER" if i % 2 else "ENERGY", unit="W",
            source="a" if i < 4 else "b", labels={"site": "x" if i < 5 else "y", "n": i},
        )  # fmt: skip
    await upsert(gql, key="other", kind="PRICE", unit="EUR/MWh")

    async def keys(**variables: Any) -> list[str]:
        body = await gql(LIST, variables)
        assert "errors" not in body, body
        return [n["key"] for n in body["data"]["seriesList"]["nodes"]]

    assert await keys(filter={"keyPrefix": "site:"}) == [f"site:{i}" for i in range(7)]
    assert await keys(filter={"kind": "PRICE"}) == ["other"]
    assert await keys(filter={"kinds": ["POWER"], "source": "a"}) == ["site:1", "site:3"]
    assert await keys(filter={"labels": {"site": "y"}}) == ["site:5", "site:6"]
    assert await keys(filter={"labels": {"n": 2}}) == ["site:2"]
    assert await keys(filter={"keyPrefix": "site_"}) == []  # no LIKE wildcards

    seen: list[str] = []
    after = None
    while True:
        body = await gql(LIST, {"first": 3, "after": after})
        page = body["data"]["seriesList"]
        seen += [e["node"]["key"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["other", *(f"site:{i}" for i in range(7))]


@pytest.mark.parametrize(("first", "after"), [(0, None), (1001, None), (10, "garbage!")])
async def test_bad_pagination_arguments(gql: Gql, first: int, after: str | None) -> None:
    body = await gql(LIST, {"first": first, "after": after})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


async def test_metadata_for_100_series_costs_a_constant_number_of_statements(
    gql: Gql, app: Starlette
) -> None:
    for i in range(100):
        await upsert(gql, key=f"s{i:03d}", kind="POWER", unit="W")
        await gql(INGEST, {"input": ingest_input(f"s{i:03d}", ["2025-01-01T00:00:00Z"], [1.0])})
    with captured_sql(app) as statements:
        body = await gql(
            "{ seriesList(first: 100) { nodes { key name unit firstTimestamp lastTimestamp } } }"
        )
    nodes = body["data"]["seriesList"]["nodes"]
    assert len(nodes) == 100 and nodes[0]["lastTimestamp"] == "2025-01-01T00:00:00+00:00"
    # One page query and one batched first/last query for all 100 series; no N+1.
    assert len(statements) == 2, statements


async def test_sibling_lookups_are_batched_into_one_statement(gql: Gql, app: Starlette) -> None:
    for key in ("a", "b", "c"):
        await upsert(gql, key=key, kind="POWER", unit="W")
    with captured_sql(app) as statements:
        body = await gql(
            '{ a: series(key: "a") { key } b: series(key: "b") { key } '
            'c: series(key: "c") { key } d: series(key: "none") { key } }'
        )
    assert body["data"] == {"a": {"key": "a"}, "b": {"key": "b"}, "c": {"key": "c"}, "d": None}
    assert len(statements) == 1, statements


async def test_samples_limit_and_truncation(gql: Gql) -> None:
    await upsert(gql, **series_input("s"))
    ts = [f"2025-01-01T0{h}:00:00Z" for h in range(5)]
    await gql(INGEST, {"input": ingest_input("s", ts, [1.0, 2.0, 3.0, 4.0, 5.0])})
    body = await gql(
        """{ series(key: "s") { samples(from: "2025-01-01T00:00:00Z",
             to: "2025-01-02T00:00:00Z", limit: 2) { timestamps values truncated } } }"""
    )
    assert body["data"]["series"]["samples"] == {
        "timestamps": ["2025-01-01T00:00:00+00:00", "2025-01-01T01:00:00+00:00"],
        "values": [1.0, 2.0],
        "truncated": True,
    }


async def test_raw_samples_above_the_budget_are_rejected(gql: Gql) -> None:
    await upsert(gql, **series_input("s"))
    body = await gql(
        """{ series(key: "s") { samples(from: "2025-01-01T00:00:00Z",
             to: "2025-01-02T00:00:00Z", limit: 100001) { values } } }"""
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BUDGET_EXCEEDED"]


DELETE = """mutation($key: String!, $from: DateTime!, $to: DateTime!) {
  deleteSamples(key: $key, from: $from, to: $to) { deleted userErrors { code } }
}"""


async def test_delete_samples_in_a_half_open_range(gql: Gql, sql: asyncpg.Connection) -> None:
    await upsert(gql, **series_input("s"))
    ts = [f"2025-01-01T0{h}:00:00Z" for h in range(5)]
    await gql(INGEST, {"input": ingest_input("s", ts, [1.0] * 5)})
    body = await gql(DELETE, {"key": "s", "from": ts[1], "to": ts[3]})
    assert body["data"]["deleteSamples"] == {"deleted": 2, "userErrors": []}
    assert await sql.fetchval("SELECT count(*) FROM samples") == 3


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"key": "nope"}, "UNKNOWN_SERIES"),
        ({"key": "s", "from": "2025-01-02T00:00:00Z"}, "INVALID_RANGE"),
        ({"key": "s", "to": "2025-01-02T00:00:00"}, "NAIVE_TIMESTAMP"),
    ],
)
async def test_delete_rejects_bad_input(
    gql: Gql, sql: asyncpg.Connection, variables: dict[str, Any], code: str
) -> None:
    await upsert(gql, **series_input("s"))
    await gql(INGEST, {"input": ingest_input("s", ["2025-01-01T12:00:00Z"], [1.0])})
    args = {"from": "2025-01-01T00:00:00Z", "to": "2025-01-02T00:00:00Z", **variables}
    body = await gql(DELETE, args)
    assert body["data"]["deleteSamples"]["userErrors"] == [{"code": code}]
    assert await sql.fetchval("SELECT count(*) FROM samples") == 1
