"""When a rollup may answer (db/rollups.py, migration 0040), on plain PostgreSQL too.

CI has no TimescaleDB, so the routing decision is exercised here with a stand-in: an
ordinary table named like the daily Berlin rollup, holding numbers that differ from the raw
rows on purpose. A read answers from it only while no write to its series overlapping the
read's window is pending; otherwise the same statement answers from the raw rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import numpy as np
import pytest

from db import aggregate as db_aggregate, samples as db_samples
from db.audit import AuditEntry
from db.engine import Database
from db.intervals import parse_every

BERLIN = ZoneInfo("Europe/Berlin")
DAY1 = datetime(2025, 3, 29, tzinfo=BERLIN)
DAY2 = datetime(2025, 3, 30, tzinfo=BERLIN)  # 23 hours long
DAY3 = datetime(2025, 3, 31, tzinfo=BERLIN)
CACHED = 1e6  # the stand-in's sum per bucket; the raw sums are small

_AUDIT = AuditEntry(actor="cli", action="samples.delete", target="routing test")


@pytest.fixture
async def stand_in(
    sql: asyncpg.Connection, database_url: str
) -> AsyncIterator[tuple[Database, list[int]]]:
    if await sql.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"):
        pytest.skip("the stand-in would shadow the real rollup; test_rollup_freshness covers it")
    ids = [
        await sql.fetchval(
            "INSERT INTO series (key, name, kind, unit, timezone) "
            "VALUES ($1, $1, 'POWER', 'kW', 'Europe/Berlin') RETURNING id",
            key,
        )
        for key in ("a", "b")
    ]
    await sql.execute(
        "INSERT INTO samples SELECT s, t, 1.0 FROM unnest($1::integer[]) s, "
        "generate_series($2::timestamptz, $3::timestamptz - interval '15 min', "
        "interval '15 min') t",
        ids,
        DAY1,
        DAY3,
    )
    await sql.execute(
        "CREATE TABLE samples_1d_berlin AS SELECT s AS series_id, d AS bucket, "
        "$2::float8 AS sum, 1::bigint AS count, 0::float8 AS min, 0::float8 AS max, "
        "0::float8 AS first, 0::float8 AS last "
        "FROM unnest($1::integer[]) s, unnest($3::timestamptz[]) d",
        ids,
        CACHED,
        [DAY1, DAY2],
    )
    database = Database(database_url)
    await database.start()
    database.capabilities = dataclasses.replace(
        database.capabilities, rollups=frozenset({"samples_1d_berlin"})
    )
    try:
        yield database, ids
    finally:
        await database.dispose()
        await sql.execute("DROP TABLE samples_1d_berlin")


async def _sums(database: Database, ids: list[int]) -> list[list[float]]:
    requests = [
        db_aggregate.BucketRequest(
            sid, DAY1, DAY3, parse_every("P1D"), "Europe/Berlin", frozenset({"sum", "count"}),
            db_aggregate.Fill.NONE,
        )
        for sid in ids
    ]  # fmt: skip
    many = await db_aggregate.fetch_buckets_many(database, requests)
    one = await _alone(database, ids[0])
    assert one.columns == many[0].columns  # one statement per series or one for all: same
    return [rows.columns["sum"] for rows in many]


async def _alone(database: Database, series_id: int) -> db_aggregate.BucketRows:
    """The same read for one series on its own statement."""
    return await db_aggregate.fetch_buckets(
        database,
        series_id=series_id,
        start=DAY1,
        end=DAY3,
        width=parse_every("P1D"),
        timezone="Europe/Berlin",
        aggregates={"sum", "count"},
        fill=db_aggregate.Fill.NONE,
    )


async def _pending(sql: asyncpg.Connection, series_id: int, lo: datetime, hi: datetime) -> None:
    await sql.execute(
        "INSERT INTO rollup_pending (series_id, lo, hi) VALUES ($1, $2, $3)", series_id, lo, hi
    )


RAW = [96.0, 92.0]  # quarter hours of 1.0: a 24 h day and the 23 h DST day


async def test_the_rollup_answers_while_nothing_is_pending(
    stand_in: tuple[Database, list[int]],
) -> None:
    database, ids = stand_in
    assert await _sums(database, ids) == [[CACHED, CACHED], [CACHED, CACHED]]


async def test_a_pending_write_in_the_window_routes_the_read_to_the_raw_rows(
    stand_in: tuple[Database, list[int]], sql: asyncpg.Connection
) -> None:
    database, ids = stand_in
    # One microsecond inside the window's last instant is enough.
    await _pending(sql, ids[0], DAY3 - timedelta(microseconds=1), DAY3 + timedelta(hours=1))
    sums = await _sums(database, ids)
    assert sums[0] == RAW
    # Sibling series read in the same statement share its decision (one snapshot, one
    # answer); read alone, the other series is not affected.
    assert sums[1] == RAW
    alone = await _alone(database, ids[1])
    assert alone.columns["sum"] == [CACHED, CACHED]


@pytest.mark.parametrize(
    ("lo", "hi"),
    [
        (DAY3, DAY3 + timedelta(days=1)),  # starts where the read ends
        (DAY1 - timedelta(days=1), DAY1),  # ends where the read starts
    ],
)
async def test_pending_writes_outside_the_window_leave_the_rollup_answering(
    stand_in: tuple[Database, list[int]], sql: asyncpg.Connection, lo: datetime, hi: datetime
) -> None:
    database, ids = stand_in
    await _pending(sql, ids[0], lo, hi)
    assert await _sums(database, ids) == [[CACHED, CACHED], [CACHED, CACHED]]


async def test_writes_record_their_window_in_their_own_transaction(
    stand_in: tuple[Database, list[int]], sql: asyncpg.Connection
) -> None:
    database, ids = stand_in
    micros = np.array([int(DAY2.timestamp() * 1e6), int(DAY2.timestamp() * 1e6) + 900_000_000])
    batch = db_samples.SampleBatch(ids[0], micros, np.array([5.0, 6.0]))
    # A write that fails leaves nothing pending.
    with pytest.raises(db_samples.SamplesExist):
        await db_samples.write_samples(database, [batch], db_samples.Conflict.ERROR)
    assert await sql.fetchval("SELECT count(*) FROM rollup_pending") == 0
    # A write that changes rows marks exactly its window; without TimescaleDB nothing can
    # refresh it, so it stays pending and reads of it stay on the raw rows.
    counts = await db_samples.write_samples(database, [batch], db_samples.Conflict.UPDATE)
    assert counts.updated == 2
    pending = await sql.fetch("SELECT series_id, lo, hi FROM rollup_pending")
    assert [tuple(r) for r in pending] == [
        (ids[0], DAY2, DAY2 + timedelta(minutes=15, microseconds=1))
    ]
    assert (await _sums(database, ids))[0] == [96.0, 92.0 - 2.0 + 11.0]
    # Unchanged values and deletes of nothing mark nothing.
    await sql.execute("DELETE FROM rollup_pending")
    await db_samples.write_samples(database, [batch], db_samples.Conflict.UPDATE)
    gone = await db_samples.delete_samples(
        database, series_id=ids[1], start=DAY3, end=DAY3, audit_entry=_AUDIT
    )
    assert gone == 0
    assert await sql.fetchval("SELECT count(*) FROM rollup_pending") == 0
    deleted = await db_samples.delete_samples(
        database, series_id=ids[1], start=DAY1, end=DAY2, audit_entry=_AUDIT
    )
    assert deleted == 96
    assert await sql.fetchval("SELECT count(*) FROM rollup_pending WHERE series_id = $1", ids[1])


async def test_reads_in_steps_route_like_reads_at_once(
    stand_in: tuple[Database, list[int]], sql: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    database, ids = stand_in
    monkeypatch.setattr(db_aggregate, "CHUNK_ROWS", 1)  # every read goes through the cursor
    assert await _sums(database, ids) == [[CACHED, CACHED], [CACHED, CACHED]]
    await _pending(sql, ids[0], DAY2, DAY2 + timedelta(hours=1))
    assert await _sums(database, ids) == [RAW, RAW]
