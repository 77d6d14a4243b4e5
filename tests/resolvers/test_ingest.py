"""Ingest: round trip, idempotence, conflict modes and every bad input (nothing written)."""

from __future__ import annotations

import random
from typing import Any

import asyncpg
import pytest

from tests.conftest import Gql
from tests.resolvers.helpers import INGEST, UPSERT, ingest_input, quarter_hours, series_input

READ = """query($key: String!, $from: DateTime!, $to: DateTime!) {
  series(key: $key) { samples(from: $from, to: $to) { timestamps values truncated } }
}"""


async def create(gql: Gql, *keys: str) -> None:
    for key in keys:
        body = await gql(UPSERT, {"input": series_input(key)})
        assert "errors" not in body, body


async def ingest(gql: Gql, payload: Any) -> dict[str, Any]:
    body = await gql(INGEST, {"input": payload})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["ingest"]
    return result


async def row_count(sql: asyncpg.Connection) -> int:
    return int(await sql.fetchval("SELECT count(*) FROM samples"))


async def checksum(sql: asyncpg.Connection) -> str:
    return str(
        await sql.fetchval(
            "SELECT md5(coalesce(string_agg(series_id || '/' || ts || '/' || value, ',' "
            "ORDER BY series_id, ts), '')) FROM samples"
        )
    )


async def test_round_trip_several_series_in_one_call(gql: Gql) -> None:
    await create(gql, "a", "b")
    ts_a = quarter_hours("2025-03-29T00:00:00+01:00", "2025-03-31T00:00:00+02:00")
    ts_b = ts_a[::4]
    values_a = [i * 0.5 for i in range(len(ts_a))]
    values_b = [-1e12, 0.0, 1e-300, *[float(i) for i in range(len(ts_b) - 3)]]
    result = await ingest(
        gql,
        {
            "series": [
                {"key": "a", "timestamps": ts_a, "values": values_a},
                {"key": "b", "timestamps": ts_b, "values": values_b},
            ]
        },
    )
    assert result == {
        "accepted": len(ts_a) + len(ts_b),
        "inserted": len(ts_a) + len(ts_b),
        "updated": 0,
        "unchanged": 0,
        "userErrors": [],
    }
    for key, ts, values in (("a", ts_a, values_a), ("b", ts_b, values_b)):
        body = await gql(READ, {"key": key, "from": ts[0], "to": "2025-04-01T00:00:00Z"})
        samples = body["data"]["series"]["samples"]
        assert samples == {"timestamps": ts, "values": values, "truncated": False}


async def test_timestamps_with_any_offset_are_the_same_instant(gql: Gql) -> None:
    await create(gql, "a")
    await ingest(gql, ingest_input("a", ["2025-06-01T12:00:00+02:00"], [1.0]))
    result = await ingest(gql, ingest_input("a", ["2025-06-01T10:00:00Z"], [1.0]))
    assert (result["inserted"], result["unchanged"]) == (0, 1)


async def test_same_batch_twice_changes_nothing(gql: Gql, sql: asyncpg.Connection) -> None:
    await create(gql, "a")
    ts = quarter_hours("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z")
    payload = ingest_input("a", ts, [float(i) for i in range(len(ts))])
    first = await ingest(gql, payload)
    before = await checksum(sql)
    second = await ingest(gql, payload)
    assert (first["inserted"], first["updated"], first["unchanged"]) == (96, 0, 0)
    assert (second["inserted"], second["updated"], second["unchanged"]) == (0, 0, 96)
    assert await checksum(sql) == before


async def test_shuffled_order_gives_the_same_table(gql: Gql, sql: asyncpg.Connection) -> None:
    await create(gql, "a")
    ts = quarter_hours("2025-01-01T00:00:00Z", "2025-01-03T00:00:00Z")
    values = [float(i % 7) for i in range(len(ts))]
    await ingest(gql, ingest_input("a", ts, values))
    ordered = await checksum(sql)
    await sql.execute("TRUNCATE samples")
    pairs = list(zip(ts, values, strict=True))
    random.Random(7).shuffle(pairs)
    await ingest(gql, ingest_input("a", [p[0] for p in pairs], [p[1] for p in pairs]))
    assert await checksum(sql) == ordered


@pytest.mark.parametrize(
    ("mode", "expected_values", "counts"),
    [("UPDATE", [10.0, 20.0, 3.0], (1, 2, 0)), ("IGNORE", [1.0, 2.0, 3.0], (1, 0, 2))],
)
async def test_conflict_modes(
    gql: Gql, mode: str, expected_values: list[float], counts: tuple[int, int, int]
) -> None:
    await create(gql, "a")
    ts = ["2025-01-01T00:00:00+00:00", "2025-01-01T00:15:00+00:00", "2025-01-01T00:30:00+00:00"]
    await ingest(gql, ingest_input("a", ts[:2], [1.0, 2.0]))
    # Two stored instants with new values and one new instant, sent out of order.
    result = await ingest(
        gql, ingest_input("a", ts[1:] + ts[:1], [20.0, 3.0, 10.0], onConflict=mode)
    )
    assert (result["inserted"], result["updated"], result["unchanged"]) == counts
    body = await gql(READ, {"key": "a", "from": ts[0], "to": "2025-01-02T00:00:00Z"})
    assert body["data"]["series"]["samples"]["values"] == expected_values


async def test_unchanged_values_are_not_rewritten(gql: Gql) -> None:
    await create(gql, "a")
    ts = ["2025-01-01T00:00:00Z", "2025-01-01T01:00:00Z"]
    await ingest(gql, ingest_input("a", ts, [1.0, 2.0]))
    result = await ingest(gql, ingest_input("a", ts, [1.0, 2.5]))
    assert (result["inserted"], result["updated"], result["unchanged"]) == (0, 1, 1)


GOOD_TS = ["2025-01-01T00:00:00Z", "2025-01-01T00:15:00Z"]


@pytest.mark.parametrize(
    ("series_payload", "code", "index"),
    [
        ({"key": "nope", "timestamps": GOOD_TS, "values": [1.0, 2.0]}, "UNKNOWN_SERIES", None),
        ({"key": "a", "timestamps": GOOD_TS, "values": [1.0]}, "LENGTH_MISMATCH", None),
        (
            {"key": "a", "timestamps": [GOOD_TS[0], "2025-01-01T00:15:00"], "values": [1, 2]},
            "NAIVE_TIMESTAMP",
            1,
        ),
        (
            {
                "key": "a",
                "timestamps": ["2025-01-01T00:00:00", "2025-01-01T00:15:00"],
                "values": [1, 2],
            },
            "NAIVE_TIMESTAMP",
            0,
        ),  # fmt: skip
        (
            {"key": "a", "timestamps": [GOOD_TS[0], "1969-12-31T23:59:59Z"], "values": [1, 2]},
            "TIMESTAMP_OUT_OF_RANGE",
            1,
        ),
        (
            {"key": "a", "timestamps": ["9999-12-31T23:59:59-14:00"], "values": [1.0]},
            "TIMESTAMP_OUT_OF_RANGE",
            0,
        ),
        (
            {"key": "a", "timestamps": ["0001-01-01T00:00:00+14:00"], "values": [1.0]},
            "TIMESTAMP_OUT_OF_RANGE",
            0,
        ),
        (
            {"key": "a", "timestamps": [GOOD_TS[0], "2025-01-01T01:00:00+01:00"], "values": [1, 2]},
            "DUPLICATE_TIMESTAMP",
            1,
        ),  # fmt: skip
    ],
)
async def test_bad_input_is_a_user_error_and_writes_nothing(
    gql: Gql,
    sql: asyncpg.Connection,
    series_payload: dict[str, Any],
    code: str,
    index: int | None,
) -> None:
    await create(gql, "a", "b")
    good = {"key": "b", "timestamps": GOOD_TS, "values": [1.0, 2.0]}
    result = await ingest(gql, {"series": [good, series_payload]})
    assert result["accepted"] == 0
    assert [(e["code"], e["key"], e["index"]) for e in result["userErrors"]] == [
        (code, series_payload["key"], index)
    ]
    assert await row_count(sql) == 0


async def test_same_series_twice_in_one_call_is_rejected(gql: Gql, sql: asyncpg.Connection) -> None:
    await create(gql, "a")
    item = {"key": "a", "timestamps": GOOD_TS, "values": [1.0, 2.0]}
    result = await ingest(gql, {"series": [item, item]})
    assert [e["code"] for e in result["userErrors"]] == ["DUPLICATE_SERIES"]
    assert await row_count(sql) == 0


async def test_batch_above_the_limit_is_rejected(gql: Gql, sql: asyncpg.Connection) -> None:
    await create(gql, "a")
    limit = 100_000
    ts = quarter_hours("2020-01-01T00:00:00Z", "2023-01-01T00:00:00Z")[: limit + 1]
    result = await ingest(gql, ingest_input("a", ts, [1.0] * len(ts)))
    assert [e["code"] for e in result["userErrors"]] == ["BATCH_TOO_LARGE"]
    assert await row_count(sql) == 0


async def test_a_full_size_batch_is_accepted(gql: Gql, sql: asyncpg.Connection) -> None:
    await create(gql, "a")
    ts = quarter_hours("2020-01-01T00:00:00Z", "2023-01-01T00:00:00Z")[:100_000]
    result = await ingest(gql, ingest_input("a", ts, [0.25] * len(ts)))
    assert result["inserted"] == 100_000
    assert await row_count(sql) == 100_000


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
async def test_non_finite_values_never_reach_the_database(
    client: Any, sql: asyncpg.Connection, gql: Gql, token: str
) -> None:
    await create(gql, "a")
    body = (
        '{"query": "mutation($i: IngestInput!) { ingest(input: $i) { accepted userErrors '
        '{ code } } }", "variables": {"i": {"series": [{"key": "a", "timestamps": '
        f'["2025-01-01T00:00:00Z"], "values": [{token}]}}]}}}}}}'
    )
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code < 500
    assert await row_count(sql) == 0


async def test_the_database_rejects_non_finite_values_itself(sql: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await sql.execute("INSERT INTO samples VALUES (1, now(), 'NaN')")
