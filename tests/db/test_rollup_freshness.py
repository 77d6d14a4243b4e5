"""TimescaleDB rollups after corrections into materialised ranges: every read equals the raw
scan, whatever the shape of the correction (docs/timescaledb.md, migration 0040).

The rollups are first materialised the way TimescaleDB's own refresh policy would
(`refresh_continuous_aggregate`, unforced, consuming its invalidation log), then corrected
through the gateway with writes shaped like the ones upstream issue #10296 mishandles:
ranges that end exactly on a bucket start (Berlin and UTC day starts, hour starts) and span
more than one bucket; plus deletes, and corrections sent concurrently. After each, the
buckets of every rollup-routed query are compared with the raw path, and the rollup's own
materialised rows with the raw rows (the cache is repaired, not only bypassed).

Skipped on plain PostgreSQL; run with
`TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5433/postgres`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from starlette.applications import Starlette

from db.engine import Database
from tests.conftest import Gql
from tests.db.test_timescaledb import check_reads, raw_database, tsdb
from tests.resolvers.helpers import INGEST, UPSERT, series_input

__all__ = ["raw_database", "tsdb"]  # fixtures shared with test_timescaledb

pytestmark = pytest.mark.timescaledb

T0 = datetime(2025, 3, 20, tzinfo=UTC)
DAYS = 21  # over Berlin's spring DST change (2025-03-30)

READS = [
    ("P1D", "Europe/Berlin", "2025-03-21T00:00:00+01:00", "2025-04-10T00:00:00+02:00"),
    ("P1D", "UTC", "2025-03-21T00:00:00Z", "2025-04-10T00:00:00Z"),
    ("PT1H", "UTC", "2025-03-21T00:00:00Z", "2025-04-10T00:00:00Z"),
    ("PT1H", "Europe/Berlin", "2025-03-29T00:00:00+01:00", "2025-03-31T00:00:00+02:00"),
    ("P1W", "Europe/Berlin", "2025-03-24T00:00:00+01:00", "2025-04-07T00:00:00+02:00"),
    ("P1M", "UTC", "2025-03-01T00:00:00Z", "2025-05-01T00:00:00Z"),
]


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


async def _ingest(gql: Gql, stamps: list[str], values: list[float]) -> None:
    item = {"key": "ts", "timestampsMs": [_ms(s) for s in stamps], "valuesColumn": values}
    body = await gql(INGEST, {"input": {"series": [item]}})
    assert body["data"]["ingest"]["userErrors"] == [], body


async def _load_and_materialise(gql: Gql, sql: asyncpg.Connection) -> None:
    body = await gql(UPSERT, {"input": series_input("ts", timezone="Europe/Berlin")})
    assert "errors" not in body, body
    points = 96 * DAYS
    stamps = [(T0 + timedelta(minutes=15 * i)).isoformat() for i in range(points)]
    await _ingest(gql, stamps, [float(i % 97) for i in range(points)])
    # What TimescaleDB's refresh policy does, under the rollups' lock (the maintenance job
    # must not run at the same moment, or TimescaleDB refuses one of the two).
    await sql.execute("SELECT pg_advisory_lock(rollup_lock_key())")
    try:
        for view in ("samples_1h", "samples_1d_utc", "samples_1d_berlin"):
            await sql.execute("CALL refresh_continuous_aggregate($1::regclass, NULL, NULL)", view)
    finally:
        await sql.execute("SELECT pg_advisory_unlock(rollup_lock_key())")
    assert await sql.fetchval("SELECT count(*) FROM samples_1d_berlin") >= DAYS


async def _check_reads(gql: Gql, app: Starlette, raw: Database) -> None:
    await check_reads(gql, app, raw, [(*read, "NONE") for read in READS])


async def _stale_rollup_rows(sql: asyncpg.Connection) -> int:
    """Materialised rollup rows (below each watermark) that differ from the raw rows."""
    stale = 0
    for view, bucket in (
        ("samples_1h", "time_bucket(interval '1 hour', ts)"),
        ("samples_1d_utc", "time_bucket(interval '1 day', ts)"),
        ("samples_1d_berlin", "time_bucket(interval '1 day', ts, 'Europe/Berlin')"),
    ):
        table = await sql.fetchval(
            "SELECT format('%I.%I', h.schema_name, h.table_name) "
            "FROM _timescaledb_catalog.continuous_agg c "
            "JOIN _timescaledb_catalog.hypertable h ON h.id = c.mat_hypertable_id "
            "WHERE c.user_view_name = $1",
            view,
        )
        mark = await sql.fetchval(
            "SELECT mark FROM rollup_watermarks() WHERE view_name = $1::regclass", view
        )
        stale += await sql.fetchval(
            f"WITH raw AS (SELECT series_id, {bucket} AS bucket, sum(value) AS sum, "
            "count(*) AS count, min(value) AS min, max(value) AS max FROM samples GROUP BY 1, 2), "
            f"cached AS (SELECT series_id, bucket, sum, count, min, max FROM {table}) "
            "SELECT count(*) FROM raw FULL JOIN cached USING (series_id, bucket) "
            "WHERE bucket < $1 AND (raw.sum IS DISTINCT FROM cached.sum "
            "OR raw.count IS DISTINCT FROM cached.count OR raw.min IS DISTINCT FROM cached.min "
            "OR raw.max IS DISTINCT FROM cached.max)",
            mark,
        )
    return stale


CORRECTIONS = {
    # Two points spanning a bucket edge; the written range ends exactly on the bucket start.
    "berlin day start, summer time (22:00Z)": ["2025-04-02T21:45:00Z", "2025-04-02T22:00:00Z"],
    "berlin day start, winter time (23:00Z)": ["2025-03-24T22:45:00Z", "2025-03-24T23:00:00Z"],
    "berlin day start of the 23 h day": ["2025-03-29T22:45:00Z", "2025-03-29T23:00:00Z"],
    "utc day start": ["2025-04-03T23:45:00Z", "2025-04-04T00:00:00Z"],
    "hour start": ["2025-04-05T10:45:00Z", "2025-04-05T11:00:00Z"],
    "several days, ending on a berlin day start": [
        "2025-03-26T12:00:00Z",
        "2025-03-27T12:00:00Z",
        "2025-03-27T23:00:00Z",
    ],
}


@pytest.mark.parametrize("stamps", list(CORRECTIONS.values()), ids=list(CORRECTIONS))
async def test_corrections_into_materialised_rollups_read_like_the_raw_scan(
    tsdb: None,
    gql: Gql,
    sql: asyncpg.Connection,
    app: Starlette,
    raw_database: Database,
    stamps: list[str],
) -> None:
    await _load_and_materialise(gql, sql)
    assert await _stale_rollup_rows(sql) == 0
    await _ingest(gql, stamps, [1000.0 + i for i in range(len(stamps))])
    # The write's own refresh repaired the rollups: nothing pending, nothing stale.
    assert await sql.fetchval("SELECT count(*) FROM rollup_pending") == 0
    assert await _stale_rollup_rows(sql) == 0
    await _check_reads(gql, app, raw_database)
    # A later policy-style refresh finds nothing to undo.
    await sql.execute("CALL rollup_maintain(NULL, NULL)")
    assert await _stale_rollup_rows(sql) == 0
    await _check_reads(gql, app, raw_database)


@pytest.mark.parametrize(
    ("start", "end", "deleted"),
    [
        ("2025-04-06T22:00:00Z", "2025-04-07T22:00:00Z", 96),  # one whole Berlin day
        ("2025-04-01T21:45:00Z", "2025-04-01T22:00:00.001Z", 2),  # across a Berlin midnight
        ("2025-03-30T00:00:00Z", "2025-03-30T01:00:00Z", 4),  # one hour, ends on an hour start
    ],
)
async def test_deletes_from_materialised_rollups_read_like_the_raw_scan(
    tsdb: None,
    gql: Gql,
    sql: asyncpg.Connection,
    app: Starlette,
    raw_database: Database,
    start: str,
    end: str,
    deleted: int,
) -> None:
    await _load_and_materialise(gql, sql)
    body = await gql(
        f'mutation {{ deleteSamples(key: "ts", from: "{start}", to: "{end}") {{ deleted }} }}'
    )
    assert body["data"]["deleteSamples"]["deleted"] == deleted, body
    assert await sql.fetchval("SELECT count(*) FROM rollup_pending") == 0
    assert await _stale_rollup_rows(sql) == 0
    await _check_reads(gql, app, raw_database)


async def test_concurrent_corrections_into_materialised_rollups(
    tsdb: None,
    gql: Gql,
    sql: asyncpg.Connection,
    app: Starlette,
    raw_database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _load_and_materialise(gql, sql)
    # Overlapping and disjoint windows at once; every refresh waits for the previous one.
    # (All in flight together: lift the per-tenant ingest limit this test is not about.)
    monkeypatch.setattr(app.state.pipeline.ingest_slots, "limit", 64)
    writes = [*CORRECTIONS.values(), *CORRECTIONS.values()]
    await asyncio.gather(
        *(
            _ingest(gql, stamps, [float(-i - k) for k in range(len(stamps))])
            for i, stamps in enumerate(writes)
        )
    )
    assert await sql.fetchval("SELECT count(*) FROM rollup_pending") == 0
    assert await _stale_rollup_rows(sql) == 0
    await _check_reads(gql, app, raw_database)


async def test_a_refresh_that_cannot_run_leaves_its_window_on_the_raw_path(
    tsdb: None,
    gql: Gql,
    sql: asyncpg.Connection,
    admin_sql: asyncpg.Pool,
    app: Starlette,
    raw_database: Database,
) -> None:
    await _load_and_materialise(gql, sql)
    # Someone else (the maintenance job) holds the refresh lock longer than a write waits.
    async with admin_sql.acquire() as holder:
        await holder.execute("SELECT pg_advisory_lock(rollup_lock_key())")
        try:
            await _ingest(gql, CORRECTIONS["berlin day start, summer time (22:00Z)"], [-5e3, 5e3])
            # The committed write is pending and the materialised rows are stale, yet every
            # read equals the raw scan: the pending window routes it to the raw rows.
            assert await sql.fetchval("SELECT count(*) FROM rollup_pending") == 1
            assert await _stale_rollup_rows(sql) > 0
            await _check_reads(gql, app, raw_database)
        finally:
            await holder.execute("SELECT pg_advisory_unlock(rollup_lock_key())")
    # The maintenance job repairs it; the rollups answer again, and correctly.
    job = await sql.fetchval(
        "SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'rollup_maintain'"
    )
    await sql.execute(f"CALL run_job({int(job)})")
    assert await sql.fetchval("SELECT count(*) FROM rollup_pending") == 0
    assert await _stale_rollup_rows(sql) == 0
    await _check_reads(gql, app, raw_database)


async def test_the_maintenance_job_replaces_the_refresh_policies(
    tsdb: None, sql: asyncpg.Connection
) -> None:
    jobs = await sql.fetch(
        "SELECT proc_name, schedule_interval FROM timescaledb_information.jobs "
        "WHERE proc_name IN ('policy_refresh_continuous_aggregate', 'rollup_maintain')"
    )
    assert [(r[0], r[1]) for r in jobs] == [("rollup_maintain", timedelta(minutes=1))]
