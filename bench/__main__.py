"""`python -m bench`: the performance benchmark of issue 5 (see docs/performance.md).

Creates a scratch database on the given server, applies the migrations, starts the gateway
as a uvicorn subprocess, runs every scenario against it and against the raw asyncpg
baseline, prints the table and drops the database. `--smoke` runs tiny sizes to check that
everything works and every result is correct; its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import shlex
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import orjson
from sqlalchemy.engine import make_url

from bench.dashboard import live_data
from bench.report import render
from bench.scenarios import (
    BERLIN,
    Config,
    Harness,
    ingest_data,
    read_data,
    run_all,
    run_dashboard,
)
from bench.server import add_database_url, start_gateway
from db.migrate import apply_migrations

_UPSERT_SERIES = "mutation($input: SeriesInput!) { upsertSeries(input: $input) { key } }"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    add_database_url(parser)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, correctness only")
    parser.add_argument("--rows", type=int, help="ingest rows per run (default 1,000,000)")
    parser.add_argument("--batch", type=int, help="points per ingest call (default 100,000)")
    parser.add_argument("--concurrency", type=int, help="ingest calls in flight (default 2)")
    parser.add_argument("--repeat", type=int, help="runs per scenario and side (default 3)")
    parser.add_argument("--load-seconds", type=float, help="load test duration (default 60)")
    parser.add_argument("--no-list-shape", action="store_true", help="skip the list-shape ingest")
    parser.add_argument(
        "--no-ingest", action="store_true", help="skip the ingest scenarios (reads only)"
    )
    parser.add_argument("--output", type=Path, help="also write the table (markdown) here")
    parser.add_argument(
        "--only",
        choices=("all", "dashboard"),
        default="all",
        help="run every scenario, or only the dashboard mix (default all)",
    )
    parser.add_argument(
        "--main-tree",
        type=Path,
        help="also run the dashboard mix against the gateway of this checkout "
        "(e.g. `git archive main | tar -x -C DIR`), same data, same run",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL"),
        help="also run the dashboard mix with the result cache in this Redis (env BENCH_REDIS_URL)",
    )
    return parser.parse_args(argv)


def _config(args: argparse.Namespace) -> Config:
    config = Config.smoke() if args.smoke else Config()
    overrides = {
        "rows": args.rows,
        "batch": args.batch,
        "concurrency": args.concurrency,
        "repeat": args.repeat,
        "load_seconds": args.load_seconds,
    }
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    if args.no_list_shape:
        config = replace(config, list_shape=False)
    if args.no_ingest:
        config = replace(config, ingest=False)
    if config.rows % config.batch:
        raise SystemExit("--rows must be a multiple of --batch")
    return config


async def _facts(conn: asyncpg.Connection) -> dict[str, str]:
    tsdb = await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
    return {
        "CPUs": str(os.cpu_count()),
        "PostgreSQL": str(await conn.fetchval("SHOW server_version")),
        "TimescaleDB": tsdb or "absent",
        "Python": platform.python_version(),
    }


async def _create_series(http: httpx.AsyncClient, url: str, config: Config) -> None:
    keys = [(c.key, "UTC") for c in ingest_data(config)]
    keys += [(c.key, BERLIN) for c in read_data(config)]
    keys += [(c.key, "UTC") for c in live_data(config.read_series, datetime.now(UTC))]
    for key, zone in keys:
        body = {
            "query": _UPSERT_SERIES,
            "variables": {
                "input": {
                    "key": key,
                    "kind": "POWER",
                    "unit": "kW",
                    "timezone": zone,
                    "resolution": "PT15M",
                }
            },
        }
        response = await http.post(
            url, content=orjson.dumps(body), headers={"content-type": "application/json"}
        )
        if response.status_code != 200 or "errors" in response.json():
            raise RuntimeError(f"upsertSeries failed: {response.text[:300]}")


async def _run(args: argparse.Namespace, config: Config) -> int:
    name = f"bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(args.database_url)
    url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
    await admin.execute(f'CREATE DATABASE "{name}"')
    log = Path(tempfile.gettempdir()) / f"{name}-gateway.log"
    try:
        await apply_migrations(url)
        # The data path without the result cache: every scenario measures the database work;
        # the dashboard mix starts its own gateways with the cache on (bench.dashboard).
        gateway = start_gateway(url, log, {"cache_max_bytes": "0"})
        pool = await asyncpg.create_pool(
            url, min_size=2, max_size=10, server_settings={"timezone": "UTC"}
        )
        assert pool is not None
        limits = httpx.Limits(max_connections=config.load_clients + 4)
        try:
            async with httpx.AsyncClient(timeout=120, limits=limits) as http:
                await _create_series(http, gateway.url, config)
                async with pool.acquire() as conn:
                    facts = await _facts(conn)
                    ids = dict(await conn.fetch("SELECT key, id FROM series"))
                    rollups = frozenset(
                        await conn.fetch(
                            "SELECT view_name FROM timescaledb_information.continuous_aggregates"
                        )
                        if facts["TimescaleDB"] != "absent"
                        else []
                    )
                harness = Harness(
                    config=config,
                    gateway=gateway,
                    http=http,
                    pool=pool,
                    timescaledb=facts["TimescaleDB"] != "absent",
                    rollups=frozenset(r[0] for r in rollups),
                    ids=ids,
                    database_url=url,
                    log_dir=log.parent,
                    redis_url=args.redis_url,
                    main_tree=args.main_tree.resolve() if args.main_tree else None,
                )
                run = run_dashboard if args.only == "dashboard" else run_all
                rows = await run(harness, lambda s: print(f"... {s}", file=sys.stderr))
        finally:
            await pool.close()
            gateway.stop()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    secret = ("postgresql:", "postgres:", "redis:", "rediss:")
    shown = ["$URL" if a.startswith(secret) else a for a in sys.argv[1:]]
    command = "python -m bench " + shlex.join(shown)
    table = render(rows, facts, command.strip())
    print(table)
    if args.output:
        args.output.write_text(table + "\n")
    return 0


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    raise SystemExit(asyncio.run(_run(args, _config(args))))


if __name__ == "__main__":
    main()
