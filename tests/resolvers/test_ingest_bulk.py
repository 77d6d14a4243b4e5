"""The bulk ingest shape (`timestampsMs` / `valuesColumn`) and `onConflict: ERROR`: same
results as the list shape, and every bad input is a userError or a GraphQL validation error
with nothing written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from tests.conftest import Gql
from tests.resolvers.helpers import INGEST, UPSERT, series_input

T0 = 1_743_206_400_000  # 2025-03-29T00:00:00Z, the day before the spring DST change
STEP = 15 * 60 * 1000


async def create(gql: Gql, *keys: str) -> None:
    for key in keys:
        body = await gql(UPSERT, {"input": series_input(key)})
        assert "errors" not in body, body


async def ingest(gql: Gql, *series: dict[str, Any], on_conflict: str = "UPDATE") -> Any:
    body = await gql(INGEST, {"input": {"series": list(series), "onConflict": on_conflict}})
    assert "errors" not in body, body
    return body["data"]["ingest"]


async def stored(sql: asyncpg.Connection) -> list[tuple[int, datetime, float]]:
    rows = await sql.fetch("SELECT series_id, ts, value FROM samples ORDER BY series_id, ts")
    return [tuple(r) for r in rows]


async def test_bulk_shape_stores_the_same_rows_as_the_list_shape(
    gql: Gql, sql: asyncpg.Connection
) -> None:
    await create(gql, "a")
    millis = [T0 + i * STEP for i in range(300)]
    values = [i * 0.25 - 7 for i in range(300)]
    result = await ingest(gql, {"key": "a", "timestampsMs": millis, "valuesColumn": values})
    assert result == {
        "accepted": 300,
        "inserted": 300,
        "updated": 0,
        "unchanged": 0,
        "userErrors": [],
    }
    bulk = await stored(sql)
    await sql.execute("TRUNCATE samples")
    stamps = [datetime.fromtimestamp(m / 1000, UTC).isoformat() for m in millis]
    result = await ingest(gql, {"key": "a", "timestamps": stamps, "values": values})
    assert result["inserted"] == 300
    assert await stored(sql) == bulk
    assert bulk[0][1] == datetime(2025, 3, 29, tzinfo=UTC)


async def test_shapes_mix_per_column(gql: Gql, sql: asyncpg.Connection) -> None:
    await create(gql, "a", "b")
    result = await ingest(
        gql,
        {"key": "a", "timestampsMs": [T0, T0 + STEP], "values": [1.0, 2.0]},
        {"key": "b", "timestamps": ["2025-03-29T01:00:00+01:00"], "valuesColumn": [3]},
    )
    assert (result["inserted"], result["userErrors"]) == (3, [])
    assert [r[2] for r in await stored(sql)] == [1.0, 2.0, 3.0]


async def test_unsorted_bulk_input_is_accepted_and_counts_are_exact(
    gql: Gql, sql: asyncpg.Connection
) -> None:
    await create(gql, "a")
    millis = [T0 + i * STEP for i in (5, 1, 3, 0, 2, 4)]
    first = await ingest(gql, {"key": "a", "timestampsMs": millis, "valuesColumn": [1] * 6})
    assert first["inserted"] == 6
    again = await ingest(
        gql, {"key": "a", "timestampsMs": millis, "valuesColumn": [1, 2, 1, 2, 1, 2]}
    )
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 3, 3)


@pytest.mark.parametrize(
    ("item", "code", "index"),
    [
        ({"timestampsMs": [T0, T0 + STEP], "valuesColumn": [1.0]}, "LENGTH_MISMATCH", None),
        (
            {"timestampsMs": [T0, T0 + STEP, T0], "valuesColumn": [1, 2, 3]},
            "DUPLICATE_TIMESTAMP",
            2,
        ),
        ({"timestampsMs": [T0, -1], "valuesColumn": [1, 2]}, "TIMESTAMP_OUT_OF_RANGE", 1),
        ({"timestampsMs": [T0, 2**62], "valuesColumn": [1, 2]}, "TIMESTAMP_OUT_OF_RANGE", 1),
        (
            {"timestampsMs": [T0], "timestamps": ["2025-01-01T00:00:00Z"], "valuesColumn": [1]},
            "AMBIGUOUS_COLUMNS",
            None,
        ),
        ({"timestampsMs": [T0], "valuesColumn": [1], "values": [1.0]}, "AMBIGUOUS_COLUMNS", None),
        ({"timestampsMs": [T0], "values": []}, "LENGTH_MISMATCH", None),
        ({"timestamps": ["2025-01-01T00:00:00"], "valuesColumn": [1]}, "NAIVE_TIMESTAMP", 0),
    ],
)
async def test_bad_bulk_input_is_a_user_error_and_writes_nothing(
    gql: Gql, sql: asyncpg.Connection, item: dict[str, Any], code: str, index: int | None
) -> None:
    await create(gql, "a", "ok")
    good = {"key": "ok", "timestampsMs": [T0], "valuesColumn": [1.0]}
    result = await ingest(gql, good, {"key": "a", **item})
    assert result["accepted"] == 0
    (error,) = result["userErrors"]
    assert (error["code"], error["key"], error["index"]) == (code, "a", index)
    assert await stored(sql) == []


async def test_non_finite_value_in_a_bulk_column(gql: Gql, sql: asyncpg.Connection) -> None:
    """JSON has no NaN, but a GraphQL literal that overflows to infinity must be caught."""
    await create(gql, "a")
    literal = f"[{T0}, {T0 + STEP}]"
    body = await gql(
        f'mutation {{ ingest(input: {{series: [{{key: "a", timestampsMs: {literal}, '
        "valuesColumn: [1.0, 1e999]}]}) { accepted userErrors { code index } } }"
    )
    assert body["data"]["ingest"] == {
        "accepted": 0,
        "userErrors": [{"code": "NON_FINITE_VALUE", "index": 1}],
    }
    assert await stored(sql) == []


@pytest.mark.parametrize(
    "item",
    [
        {"timestampsMs": [T0, "x"], "valuesColumn": [1, 2]},
        {"timestampsMs": [T0, True], "valuesColumn": [1, 2]},
        {"timestampsMs": [T0 + 0.5], "valuesColumn": [1]},
        {"timestampsMs": [2**80], "valuesColumn": [1]},
        {"timestampsMs": "1,2", "valuesColumn": [1]},
        {"timestampsMs": [T0], "valuesColumn": ["1"]},
        {"timestampsMs": [T0], "valuesColumn": [None]},
        {"timestampsMs": [T0], "valuesColumn": {"a": 1}},
    ],
)
async def test_malformed_bulk_columns_are_validation_errors(
    gql: Gql, sql: asyncpg.Connection, item: dict[str, Any]
) -> None:
    await create(gql, "a")
    body = await gql(INGEST, {"input": {"series": [{"key": "a", **item}]}})
    assert body.get("data") is None
    (error,) = body["errors"]
    assert "Variable '$input' has invalid value" in error["message"]
    assert "Column" in error["message"]  # the scalar's own message, naming the column type
    assert await stored(sql) == []


async def test_on_conflict_error_appends_and_rejects_stored_timestamps(
    gql: Gql, sql: asyncpg.Connection
) -> None:
    await create(gql, "a", "b")
    first = await ingest(
        gql,
        {"key": "a", "timestampsMs": [T0, T0 + STEP], "valuesColumn": [1, 2]},
        on_conflict="ERROR",
    )
    assert (first["inserted"], first["userErrors"]) == (2, [])
    before = await stored(sql)
    clash = await ingest(
        gql,
        {"key": "b", "timestampsMs": [T0], "valuesColumn": [5]},
        {"key": "a", "timestampsMs": [T0 + 2 * STEP, T0 + STEP], "valuesColumn": [3, 9]},
        on_conflict="ERROR",
    )
    assert clash["accepted"] == 0
    (error,) = clash["userErrors"]
    assert (error["code"], error["key"]) == ("SAMPLE_EXISTS", "a")
    assert await stored(sql) == before  # series b's row was rolled back too


async def test_bulk_columns_count_towards_the_batch_limit(
    gql: Gql, sql: asyncpg.Connection
) -> None:
    await create(gql, "a")
    n = 100_001
    body = await gql(
        INGEST,
        {
            "input": {
                "series": [
                    {"key": "a", "timestampsMs": list(range(T0, T0 + n)), "valuesColumn": [0] * n}
                ]
            }
        },
    )
    (error,) = body["data"]["ingest"]["userErrors"]
    assert error["code"] == "BATCH_TOO_LARGE"
    assert await stored(sql) == []
