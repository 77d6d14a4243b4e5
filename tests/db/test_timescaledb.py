"""TimescaleDB paths: hypertable, compression, continuous aggregates, and `aggregate` reading
the rollups with results identical to the raw scan (DST days, calendar months, fills),
before materialisation, partly materialised, and after an ingest into materialised data.

Run against a server with the extension preloaded:
`TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5433/postgres .venv/bin/pytest -q tests/db`.
Skipped (with the reason) on plain PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from starlette.applications import Starlette

from db import aggregate as db_aggregate
from db.engine import Database
from db.intervals import parse_every
from db.rollups import choose_rollup
from tests.conftest import Gql
from tests.resolvers.helpers import INGEST, UPSERT, series_input

pytestmark = pytest.mark.timescaledb

T0 = datetime(2025, 3, 27, tzinfo=UTC)
POINTS = 96 * 40  # 15-minute samples over both ends of Berlin's March DST day into May


@pytest.fixture
async def tsdb(sql: asyncpg.Connection) -> None:
    version = await sql.fetchval("SELECT extversion FROM pg_extension WHERE extname='timescaledb'")
    if version is None:
        pytest.skip(
            "TimescaleDB is not installed in the test database; set TEST_DATABASE_URL to a "
            "server with timescaledb in shared_preload_libraries"
        )


@pytest.fixture
async def raw_database(database_url: str) -> AsyncIterator[Database]:
    """The same database with rollups hidden: every query takes the raw path."""
    database = Database(database_url)
    await database.start()
    database.capabilities = dataclasses.replace(database.capabilities, rollups=frozenset())
    yield database
    await database.dispose()


def _value(i: int) -> float:
    return round(math.sin(i / 7) * 50 + (i % 11), 3)


async def _load(gql: Gql, key: str = "ts") -> None:
    body = await gql(UPSERT, {"input": series_input(key, timezone="Europe/Berlin")})
    assert "errors" not in body, body
    # A gap of one day (2025-04-05) so fills have something to fill.
    idx = [i for i in range(POINTS) if not 96 * 9 <= i < 96 * 10]
    millis = [int((T0 + timedelta(minutes=15 * i)).timestamp() * 1000) for i in idx]
    item = {"key": key, "timestampsMs": millis, "valuesColumn": [_value(i) for i in idx]}
    body = await gql(INGEST, {"input": {"series": [item]}})
    assert body["data"]["ingest"]["userErrors"] == [], body


QUERY = """query($from: DateTime!, $to: DateTime!, $every: String!, $tz: String, $fill: Fill) {
  series(key: "ts") { aggregate(from: $from, to: $to, every: $every, timezone: $tz,
    fill: $fill) { starts ends avg min max sum count first last } } }"""

CASES = [
    ("P1D", "Europe/Berlin", "2025-03-28T00:00:00+01:00", "2025-04-02T00:00:00+02:00", "NONE"),
    ("P1D", "Europe/Berlin", "2025-03-28T00:00:00+01:00", "2025-05-01T00:00:00+02:00", "LINEAR"),
    ("P1D", "Europe/Berlin", "2025-03-28T00:00:00+01:00", "2025-05-01T00:00:00+02:00", "LOCF"),
    ("P1D", "Europe/Berlin", "2025-03-28T00:00:00+01:00", "2025-05-01T00:00:00+02:00", "ZERO"),
    ("P1D", "UTC", "2025-03-28T00:00:00Z", "2025-05-01T00:00:00Z", "NULL"),
    ("PT1H", "Europe/Berlin", "2025-03-29T23:00:00Z", "2025-03-30T23:00:00Z", "NONE"),
    ("PT3H", "Europe/Berlin", "2025-03-29T23:00:00Z", "2025-04-06T23:00:00Z", "NULL"),
    ("P1M", "Europe/Berlin", "2025-03-01T00:00:00+01:00", "2025-06-01T00:00:00+02:00", "NONE"),
    ("P1W", "Europe/Berlin", "2025-03-24T00:00:00+01:00", "2025-05-05T00:00:00+02:00", "NULL"),
]


def _same(got: dict[str, Any], want: db_aggregate.BucketRows) -> None:
    assert [datetime.fromisoformat(s) for s in got["starts"]] == want.starts
    assert [datetime.fromisoformat(s) for s in got["ends"]] == want.ends
    for name, column in want.columns.items():
        for a, b in zip(got[name], column, strict=True):
            assert (a is None) == (b is None), name
            if a is not None:
                assert a == pytest.approx(b, rel=1e-12, abs=1e-9), name


async def check_reads(
    gql: Gql, app: Starlette, raw_database: Database, cases: Sequence[tuple[str, ...]] = CASES
) -> None:
    """Every case `(every, tz, from, to, fill)` is routed to a rollup, and the gateway's
    answer equals the raw path's."""
    rollups = app.state.database.capabilities.rollups
    for every, tz, start, end, fill in cases:
        lo, hi = datetime.fromisoformat(start), datetime.fromisoformat(end)
        # Routing really happens for every case; the raw database computes the reference.
        assert choose_rollup(rollups, parse_every(every), tz, lo, hi) is not None, every
        variables = {"from": start, "to": end, "every": every, "tz": tz, "fill": fill}
        body = await gql(QUERY, variables)
        assert "errors" not in body, body
        series_id = await _series_id(raw_database)
        want = await db_aggregate.fetch_buckets(
            raw_database,
            series_id=series_id,
            start=lo,
            end=hi,
            width=parse_every(every),
            timezone=tz,
            aggregates=set(db_aggregate.AGGREGATES),
            fill=db_aggregate.Fill(fill),
        )
        _same(body["data"]["series"]["aggregate"], want)


async def _series_id(database: Database) -> int:
    async with database.connect() as conn:
        raw = await conn.get_raw_connection()
        assert raw.driver_connection is not None
        series_id: int = await raw.driver_connection.fetchval(
            "SELECT id FROM series WHERE key = 'ts'"
        )
    return series_id


async def test_hypertable_compression_and_rollups_exist(
    tsdb: None, sql: asyncpg.Connection, app: Starlette
) -> None:
    hypertables = await sql.fetch(
        "SELECT hypertable_name, compression_enabled FROM timescaledb_information.hypertables"
    )
    assert {(r[0], r[1]) for r in hypertables} >= {("samples", True)}
    views = await sql.fetch(
        "SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates"
    )
    assert {(r[0], r[1]) for r in views} == {
        ("samples_1h", False),
        ("samples_1d_utc", False),
        ("samples_1d_berlin", False),
    }
    assert app.state.database.capabilities.rollups == {r[0] for r in views}


async def test_rollup_results_equal_the_raw_scan(
    tsdb: None, gql: Gql, sql: asyncpg.Connection, app: Starlette, raw_database: Database
) -> None:
    await _load(gql)
    # Nothing materialised yet: the real-time views aggregate the raw rows themselves.
    await check_reads(gql, app, raw_database)
    # Partly materialised: rollup rows up to mid-April, the raw tail after that.
    for view in sorted(app.state.database.capabilities.rollups):
        await sql.execute(
            "CALL refresh_continuous_aggregate($1::regclass, $2::timestamptz, $3::timestamptz)",
            view,
            datetime(2025, 1, 1, tzinfo=UTC),
            datetime(2025, 4, 15, tzinfo=UTC),
        )
    assert await sql.fetchval("SELECT count(*) FROM samples_1d_berlin") > 0
    await check_reads(gql, app, raw_database)
    # An ingest into the materialised range refreshes it: still identical.
    changed = {
        "key": "ts",
        "timestampsMs": [
            int(datetime(2025, 3, 30, h, tzinfo=UTC).timestamp() * 1000) for h in (1, 2)
        ],
        "valuesColumn": [1000.0, -1000.0],
    }
    body = await gql(INGEST, {"input": {"series": [changed]}})
    assert body["data"]["ingest"]["updated"] == 2, body
    await check_reads(gql, app, raw_database)
    # So does a delete.
    body = await gql(
        'mutation { deleteSamples(key: "ts", from: "2025-03-31T00:00:00Z", '
        'to: "2025-04-01T06:00:00Z") { deleted } }'
    )
    assert body["data"]["deleteSamples"]["deleted"] == 120, body
    await check_reads(gql, app, raw_database)


async def test_a_failed_rollup_refresh_does_not_fail_the_committed_ingest(
    tsdb: None, gql: Gql, sql: asyncpg.Connection, app: Starlette
) -> None:
    body = await gql(UPSERT, {"input": series_input("huge")})
    assert "errors" not in body, body
    june = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp() * 1000)
    item = {"key": "huge", "timestampsMs": [june], "valuesColumn": [1.0]}
    assert (await gql(INGEST, {"input": {"series": [item]}}))["data"]["ingest"]["inserted"] == 1
    for view in sorted(app.state.database.capabilities.rollups):
        await sql.execute(
            "CALL refresh_continuous_aggregate($1::regclass, $2::timestamptz, $3::timestamptz)",
            view,
            datetime(2025, 1, 1, tzinfo=UTC),
            datetime(2025, 7, 1, tzinfo=UTC),
        )
    # Two values whose sum overflows float8, in an already materialised hour: the refresh
    # fails inside PostgreSQL, the write itself is committed and reported as such.
    march = int(datetime(2025, 3, 1, tzinfo=UTC).timestamp() * 1000)
    item = {"key": "huge", "timestampsMs": [march, march + 900_000], "valuesColumn": [1e308] * 2}
    body = await gql(INGEST, {"input": {"series": [item]}})
    assert body["data"]["ingest"] == {
        "accepted": 2,
        "inserted": 2,
        "updated": 0,
        "unchanged": 0,
        "userErrors": [],
    }, body
    assert await sql.fetchval("SELECT count(*) FROM samples") == 3
