"""Sibling `aggregate` fields share one statement when they differ only in the series
(small, unfilled reads), with results identical to one query per series."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from tests.conftest import Gql
from tests.resolvers.helpers import INGEST, UPSERT, quarter_hours, series_input
from tests.resolvers.sqlcount import captured_sql

KEYS = ("dash:a", "dash:b", "dash:c", "dash:empty")
LIST = """query($every: String!, $fill: Fill, $from: DateTime!, $to: DateTime!) {
  seriesList(filter: {keyPrefix: "dash:"}) { nodes { key
    aggregate(from: $from, to: $to, every: $every, fill: $fill) { starts ends avg max count last }
  } } }"""
ONE = """query($key: String!, $every: String!, $fill: Fill, $from: DateTime!, $to: DateTime!) {
  series(key: $key) {
    aggregate(from: $from, to: $to, every: $every, fill: $fill) { starts ends avg max count last }
  } }"""


async def _load(gql: Gql) -> None:
    stamps = quarter_hours("2025-10-25T00:00:00+02:00", "2025-10-28T00:00:00+01:00")
    for n, key in enumerate(KEYS):
        body = await gql(UPSERT, {"input": series_input(key, timezone="Europe/Berlin")})
        assert "errors" not in body, body
        if key == "dash:empty":
            continue
        values = [float((i * (n + 3)) % 17) for i in range(len(stamps))]
        body = await gql(
            INGEST,
            {"input": {"series": [{"key": key, "timestamps": stamps[n:], "values": values[n:]}]}},
        )
        assert body["data"]["ingest"]["userErrors"] == [], body


async def _compare(gql: Gql, variables: dict[str, Any]) -> None:
    body = await gql(LIST, variables)
    assert "errors" not in body, body
    nodes = body["data"]["seriesList"]["nodes"]
    assert [n["key"] for n in nodes] == list(KEYS)
    for node in nodes:
        single = await gql(ONE, {"key": node["key"], **variables})
        assert node["aggregate"] == single["data"]["series"]["aggregate"], node["key"]


async def test_dashboard_of_series_is_one_statement_with_identical_results(
    gql: Gql, app: Starlette
) -> None:
    await _load(gql)
    variables = {"every": "PT1H", "from": "2025-10-25T22:00:00Z", "to": "2025-10-27T00:00:00Z"}
    with captured_sql(app) as statements:
        body = await gql(LIST, variables)
    assert "errors" not in body, body
    reads = [s for s in statements if "samples" in s]
    assert len(reads) == 1 and "ANY" in reads[0], statements
    # 26 elapsed hours across the 25-hour DST day: one bucket each.
    assert len(body["data"]["seriesList"]["nodes"][0]["aggregate"]["starts"]) == 26
    assert body["data"]["seriesList"]["nodes"][3]["aggregate"]["count"] == []
    await _compare(gql, variables)
    await _compare(gql, {**variables, "every": "P1D"})


async def test_filled_or_long_reads_run_per_series(gql: Gql, app: Starlette) -> None:
    await _load(gql)
    variables = {
        "every": "PT1H",
        "fill": "LINEAR",
        "from": "2025-10-25T22:00:00Z",
        "to": "2025-10-27T00:00:00Z",
    }
    with captured_sql(app) as statements:
        body = await gql(LIST, variables)
    assert "errors" not in body, body
    assert len([s for s in statements if "samples" in s]) == len(KEYS)
    await _compare(gql, variables)
    long = {"every": "P1D", "from": "2025-09-01T00:00:00Z", "to": "2025-12-01T00:00:00Z"}
    with captured_sql(app) as statements:
        await gql(LIST, long)
    # Long raw scans run in parallel; a TimescaleDB rollup makes them cheap enough to batch.
    batched = bool(app.state.database.capabilities.rollups)
    assert len([s for s in statements if "samples" in s]) == (1 if batched else len(KEYS))
    await _compare(gql, long)
