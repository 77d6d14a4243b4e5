"""`python -m bench.rls`: what row-level security costs on the hot paths (docs/security.md).

Creates a scratch database, applies the migrations, stores `--rows` samples of one tenant
series among the series of three tenants and the platform's market series, and runs the
gateway's hot statements on two sessions of the same server, alternating within each repeat:
the login role (a superuser: row-level security does not apply, the baseline) and role
gateway_tenant acting for the tenant (the policies of migration 0081 apply). Both run the
db layer's tenant predicate, so the difference is the policies alone. Times are the server's
(EXPLAIN ANALYZE: planning + execution, TIMING OFF), so client decoding and a busy machine's
scheduling of this process do not blur the comparison; best and median per side, no
assertions (the numbers depend on the machine).

Scenarios: the raw-sample read (`db.samples.read_samples`), an hourly aggregate over all rows
of the series (the shape of `db.aggregate`), the series lookup by key (`db.series`), and an
idempotent ingest of `--batch` rows (COPY into the staging table, then `INSERT ... ON CONFLICT
DO UPDATE`, as `db.samples.write_samples` does).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import numpy as np
from sqlalchemy.engine import make_url

from bench.server import add_database_url
from db.migrate import apply_migrations
from db.samples import STAGING_DDL, SampleBatch, copy_buffer

_START = datetime(2024, 1, 1, tzinfo=UTC)
_LOOKUP = (
    "SELECT id, key, tenant FROM series WHERE key = ANY($1::text[]) AND (tenant = $2 OR "
    "(tenant IS NULL AND NOT EXISTS (SELECT 1 FROM series mine WHERE mine.key = series.key "
    "AND mine.tenant = $2)))"
)
_READ = (
    "SELECT ts, value FROM samples WHERE series_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts "
    "LIMIT $4"
)
_AGGREGATE = (
    "SELECT date_bin('1 hour', ts, $2), avg(value), min(value), max(value), count(*) "
    "FROM samples WHERE series_id = $1 AND ts >= $2 AND ts < $3 GROUP BY 1 ORDER BY 1"
)
_INSERT_NEW = (
    "INSERT INTO samples (series_id, ts, value) SELECT series_id, ts, value FROM ingest_staging"
)
_UPSERT = (
    "INSERT INTO samples AS t (series_id, ts, value) SELECT series_id, ts, value "
    "FROM ingest_staging ON CONFLICT (series_id, ts) DO UPDATE SET value = EXCLUDED.value "
    "WHERE t.value IS DISTINCT FROM EXCLUDED.value"
)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.rls", description=__doc__)
    add_database_url(parser)
    parser.add_argument("--rows", type=int, default=1_000_000, help="samples of the series")
    parser.add_argument("--batch", type=int, default=100_000, help="rows per ingest")
    parser.add_argument("--repeat", type=int, default=7, help="runs per scenario and side")
    parser.add_argument("--lookups", type=int, default=500, help="key lookups per run")
    return parser.parse_args(argv)


async def _seed(conn: asyncpg.Connection, rows: int) -> int:
    await conn.execute("INSERT INTO tenants (name) VALUES ('acme'), ('beta'), ('gamma')")
    await conn.execute(
        "INSERT INTO series (key, name, kind, unit, tenant) "
        "SELECT 'smard:' || g || ':DE:hour', 'm', 'ENERGY', 'MWh', NULL "
        "FROM generate_series(1, 200) g"
    )
    await conn.execute(
        "INSERT INTO series (key, name, kind, unit, tenant) "
        "SELECT 'site-' || g || ':pv', 'p', 'POWER', 'kW', t "
        "FROM generate_series(1, 100) g, unnest(ARRAY['acme', 'beta', 'gamma']) t"
    )
    sid: int = await conn.fetchval(
        "SELECT id FROM series WHERE key = 'site-1:pv' AND tenant = 'acme'"
    )
    await conn.execute(
        "INSERT INTO samples (series_id, ts, value) "
        "SELECT s.id, $1::timestamptz + g * interval '1 minute', g % 97 "
        "FROM generate_series(0, $2 - 1) g, series s WHERE s.id = $3",
        _START,
        rows,
        sid,
    )
    # Other tenants' rows in the same table, so the policies have something to exclude.
    await conn.execute(
        "INSERT INTO samples (series_id, ts, value) "
        "SELECT s.id, $1::timestamptz + g * interval '1 hour', 1 "
        "FROM generate_series(0, 999) g, series s WHERE s.key = 'site-2:pv'",
        _START,
    )
    await conn.execute("VACUUM ANALYZE samples")
    await conn.execute("ANALYZE series")
    return sid


async def _session(url: str, rls: bool) -> asyncpg.Connection:
    conn = await asyncpg.connect(url, server_settings={"timezone": "UTC"})
    await conn.execute(STAGING_DDL if not rls else "SELECT 1")
    if rls:
        await conn.execute(
            "SELECT set_config('role', 'gateway_tenant', false), "
            "set_config('gateway.tenant', 'acme', false)"
        )
        await conn.execute(STAGING_DDL)
    return conn


def _batch(sid: int, offset: int, size: int) -> bytes:
    start_us = int((_START - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1e6)
    micros = start_us + (offset + np.arange(size, dtype=np.int64)) * 60_000_000
    return copy_buffer([SampleBatch(sid, micros, np.full(size, 1.5))])


async def _server_ms(conn: asyncpg.Connection, sql: str, *args: object) -> float:
    """Planning + execution time the server reports for `sql` (EXPLAIN ANALYZE, TIMING OFF):
    the database's work, where row-level security acts, without the client's decoding."""
    plan = json.loads(
        await conn.fetchval(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}", *args)
    )
    return float(plan[0]["Planning Time"]) + float(plan[0]["Execution Time"])


Scenario = Callable[[asyncpg.Connection], Awaitable[float]]


async def _measure(
    args: argparse.Namespace, url: str, sid: int
) -> list[tuple[str, list[float], list[float]]]:
    plain, rls = await _session(url, False), await _session(url, True)
    end = _START + timedelta(minutes=args.rows)
    keys = [f"site-{i % 100 + 1}:pv" for i in range(10)] + ["smard:4:DE:hour"]
    next_ingest = [args.rows + 10_000]

    async def read(conn: asyncpg.Connection) -> float:
        return await _server_ms(conn, _READ, sid, _START, end, 100_000)

    async def aggregate(conn: asyncpg.Connection) -> float:
        return await _server_ms(conn, _AGGREGATE, sid, _START, end)

    async def lookups(conn: asyncpg.Connection) -> float:
        total = 0.0
        for _ in range(args.lookups):
            total += await _server_ms(conn, _LOOKUP, keys, "acme")
        return total

    async def ingest(conn: asyncpg.Connection) -> float:
        offset = next_ingest[0]
        next_ingest[0] += args.batch
        async with conn.transaction():
            await conn.copy_to_table(
                "ingest_staging",
                source=io.BytesIO(_batch(sid, offset, args.batch)),
                columns=("series_id", "ts", "value"),
                format="binary",
            )
            # EXPLAIN ANALYZE runs the INSERT; the staging table empties on commit.
            return await _server_ms(conn, _UPSERT)

    async def append(conn: asyncpg.Connection) -> float:
        """New rows only (onConflict ERROR): a plain COPY into samples without RLS; under RLS,
        where PostgreSQL refuses COPY FROM, COPY into staging + INSERT (db/samples.py).
        Client wall time: COPY has no EXPLAIN."""
        offset = next_ingest[0]
        next_ingest[0] += args.batch
        buffer = _batch(sid, offset, args.batch)
        columns = ("series_id", "ts", "value")
        began = time.perf_counter()
        async with conn.transaction():
            if conn is plain:
                await conn.copy_to_table(
                    "samples", source=io.BytesIO(buffer), columns=columns, format="binary"
                )
            else:
                await conn.copy_to_table(
                    "ingest_staging", source=io.BytesIO(buffer), columns=columns, format="binary"
                )
                await conn.execute(_INSERT_NEW)
        return (time.perf_counter() - began) * 1000

    scenarios: list[tuple[str, Scenario]] = [
        (f"raw read, 100,000 of {args.rows:,} rows", read),
        (f"hourly aggregate over {args.rows:,} rows", aggregate),
        (f"series lookup by key x{args.lookups}", lookups),
        (f"ingest {args.batch:,} rows (upsert from staging)", ingest),
        (f"append {args.batch:,} rows (ERROR mode; wall time incl. COPY)", append),
    ]
    out = []
    for name, scenario in scenarios:
        await scenario(plain)  # warm both sessions' caches
        await scenario(rls)
        times: dict[bool, list[float]] = {False: [], True: []}
        for i in range(args.repeat):
            order = (False, True) if i % 2 == 0 else (True, False)
            for with_rls in order:
                times[with_rls].append(await scenario(rls if with_rls else plain))
        out.append((name, times[False], times[True]))
    await plain.close()
    await rls.close()
    return out


async def _run(args: argparse.Namespace) -> int:
    name = f"bench_rls_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(args.database_url)
    url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await apply_migrations(url)
        seed = await asyncpg.connect(url)
        try:
            sid = await _seed(seed, args.rows)
            version = await seed.fetchval("SHOW server_version")
        finally:
            await seed.close()
        results = await _measure(args, url, sid)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print(
        f"PostgreSQL {version}, {os.cpu_count()} CPUs, {args.repeat} alternating runs per side; "
        "server time (planning + execution) in ms, best and median"
    )
    print(
        "| scenario | no RLS best | RLS best | overhead (best) | no RLS median | RLS median "
        "| overhead (median) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for scenario, base, rls in results:
        b_min, r_min = min(base), min(rls)
        b_med, r_med = statistics.median(base), statistics.median(rls)
        print(
            f"| {scenario} | {b_min:.1f} | {r_min:.1f} | {(r_min / b_min - 1) * 100:+.1f}% "
            f"| {b_med:.1f} | {r_med:.1f} | {(r_med / b_med - 1) * 100:+.1f}% |"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(_run(_arguments(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
