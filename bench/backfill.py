"""`python -m bench.backfill`: a tenant backfilling at full speed against dashboards of
another tenant (issue 15, point 4; docs/limits.md, "Connection pools").

`streams` ingest clients of one key (one tenant) each send, again and again, a
`batch`-point columnar ingest of new 15-minute samples into a series of its own, honouring
`Retry-After` when refused. `dashboards` clients of another key each ask for a one-week PT1H
aggregate of one of ten series (168 buckets), pausing `think_ms` between requests as a
polling dashboard does. Dashboard latency is measured alone and under the backfill, against
one gateway with the default settings (or `--workers N`). Baselines of the same run: the
dashboard's SQL on one asyncpg connection, and the streams' rows as raw COPY on asyncpg.
Every ingest answer is checked, and the rows stored are compared with the rows acknowledged.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import numpy as np
import orjson
from sqlalchemy.engine import make_url

from bench.fairness import SMALL_SQL, Tally
from bench.server import GatewayProcess, add_database_url, start_gateway
from db import samples as db_samples
from db.engine import Database
from db.migrate import apply_migrations
from gateway.keys import issue_key
from resolvers.auth import Scope

__all__ = ["main"]

START = datetime(2025, 1, 1, tzinfo=UTC)
BACKFILL_START = datetime(1975, 1, 1, tzinfo=UTC)  # room for ~200 batches a stream
STEP_MS = 15 * 60 * 1000
DASHBOARD_SERIES = 10
_AGGREGATE = (
    "query($key: String!, $from: DateTime!, $to: DateTime!) { series(key: $key) "
    '{ aggregate(from: $from, to: $to, every: "PT1H") { starts count avg min max } } }'
)
_INGEST = (
    "mutation($input: IngestInput!) { ingest(input: $input) "
    "{ accepted inserted userErrors { code message } } }"
)


class BenchError(RuntimeError):
    """A result was wrong: the benchmark stops rather than report numbers for it."""


def _dashboard_body(index: int) -> bytes:
    variables = {
        "key": f"dash:{index}",
        "from": START.isoformat(),
        "to": (START + timedelta(days=7)).isoformat(),
    }
    return orjson.dumps({"query": _AGGREGATE, "variables": variables})


@dataclass
class Backfill:
    """What the ingest streams sent and what was acknowledged."""

    acknowledged_rows: int = 0
    calls: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def count(self, outcome: str) -> None:
        self.statuses[outcome] = self.statuses.get(outcome, 0) + 1

    @property
    def rows_per_s(self) -> float:
        return self.acknowledged_rows / self.seconds if self.seconds else 0.0


def _batch(stream: int, number: int, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Stream `stream`'s batch `number`: new timestamps, after every earlier batch."""
    first = int(BACKFILL_START.timestamp() * 1000) + number * points * STEP_MS
    millis = first + STEP_MS * np.arange(points, dtype=np.int64)
    values = np.round(np.sin(np.arange(points) / 96.0) + stream, 3)
    return millis, values


def _ingest_body(stream: int, number: int, points: int) -> bytes:
    millis, values = _batch(stream, number, points)
    item = {"key": f"fill:{stream}", "timestampsMs": millis, "valuesColumn": values}
    variables = {"input": {"series": [item]}}
    return orjson.dumps(
        {"query": _INGEST, "variables": variables}, option=orjson.OPT_SERIALIZE_NUMPY
    )


async def _dashboards(url: str, token: str, clients: int, seconds: float, think_s: float) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + seconds
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    bodies = [_dashboard_body(i) for i in range(DASHBOARD_SERIES)]

    async def client(seed: int) -> None:
        pick = random.Random(seed)
        async with httpx.AsyncClient(timeout=60) as http:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    response = await http.post(url, content=pick.choice(bodies), headers=headers)
                except httpx.HTTPError as exc:
                    tally.count(type(exc).__name__)
                    await asyncio.sleep(think_s)
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                body = orjson.loads(response.content)
                if response.status_code != 200 or body.get("errors"):
                    tally.count(str(response.status_code))
                else:
                    buckets = body["data"]["series"]["aggregate"]["count"]
                    if len(buckets) != 168 or sum(buckets) != 7 * 96:
                        raise BenchError(f"wrong dashboard answer: {len(buckets)} buckets")
                    tally.latencies_ms.append(elapsed)
                    tally.count("200")
                await asyncio.sleep(think_s)

    await asyncio.gather(*(client(i) for i in range(clients)))
    return tally


async def _streams(
    url: str, token: str, streams: int, points: int, stop: asyncio.Event
) -> Backfill:
    backfill = Backfill()
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    started = time.perf_counter()

    async def stream(index: int) -> None:
        number = 0
        async with httpx.AsyncClient(timeout=120) as http:
            while not stop.is_set():
                body = _ingest_body(index, number, points)
                backfill.calls += 1
                try:
                    response = await http.post(url, content=body, headers=headers)
                except httpx.TransportError as exc:
                    # Unknown outcome: send the same batch again (an idempotent upsert).
                    backfill.count(type(exc).__name__)
                    await asyncio.sleep(1.0)
                    continue
                if response.status_code == 200:
                    result = orjson.loads(response.content)["data"]["ingest"]
                    if result["userErrors"] or result["accepted"] != points:
                        raise BenchError(f"ingest answered {result}")
                    backfill.acknowledged_rows += points
                    backfill.count("200")
                    number += 1
                    continue
                backfill.count(str(response.status_code))
                if response.status_code not in (429, 503):
                    raise BenchError(f"ingest answered {response.status_code}: {response.text}")
                # A well-behaved client: wait as told, then send the same batch again.
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))

    await asyncio.gather(*(stream(i) for i in range(streams)))
    backfill.seconds = time.perf_counter() - started
    return backfill


async def _one(buffer: bytes) -> AsyncIterator[bytes]:
    yield buffer


async def _load_dashboards(url: str, ids: dict[str, int]) -> None:
    conn = await asyncpg.connect(url)
    try:
        steps = np.arange(0, 14 * 96, dtype=np.int64)  # two weeks of 15-minute samples
        start_us = int(START.timestamp()) * 1_000_000
        batches = [
            db_samples.SampleBatch(
                ids[f"dash:{i}"], start_us + steps * STEP_MS * 1000, np.cos(steps / 96.0) + i
            )
            for i in range(DASHBOARD_SERIES)
        ]
        await conn.copy_to_table(
            "samples",
            source=_one(db_samples.copy_buffer(batches)),
            columns=("series_id", "ts", "value"),
            format="binary",
        )
        await conn.execute("ANALYZE samples")
    finally:
        await conn.close()


async def _raw_dashboard(url: str, ids: dict[str, int], seconds: float) -> Tally:
    tally = Tally()
    conn = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + seconds
        index = 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            await conn.fetch(
                SMALL_SQL, ids[f"dash:{index % DASHBOARD_SERIES}"], START, START + timedelta(days=7)
            )
            tally.latencies_ms.append((time.perf_counter() - started) * 1000)
            index += 1
    finally:
        await conn.close()
    return tally


async def _raw_copy(
    url: str, ids: dict[str, int], streams: int, points: int, seconds: float
) -> float:
    """Rows per second of `streams` connections each COPYing new batches (the raw baseline)."""
    rows = 0
    deadline = time.monotonic() + seconds
    started = time.perf_counter()

    async def stream(index: int) -> None:
        nonlocal rows
        conn = await asyncpg.connect(url)
        try:
            number = 0
            while time.monotonic() < deadline:
                millis, values = _batch(index, number, points)
                batch = db_samples.SampleBatch(ids[f"raw:{index}"], millis * 1000, values)
                await conn.copy_to_table(
                    "samples",
                    source=_one(db_samples.copy_buffer([batch])),
                    columns=("series_id", "ts", "value"),
                    format="binary",
                )
                rows += points
                number += 1
        finally:
            await conn.close()

    await asyncio.gather(*(stream(i) for i in range(streams)))
    return rows / (time.perf_counter() - started)


@dataclass
class Result:
    raw_dashboard: Tally
    raw_copy_rows_s: float
    alone: Tally
    loaded: Tally
    backfill: Backfill


async def _gateway_phases(
    url: str, tokens: dict[str, str], args: argparse.Namespace
) -> tuple[Tally, Tally, Backfill]:
    settings = {"env": "prod", "workers": str(args.workers)}
    if args.workers > 1:
        settings["db_max_connections"] = str(16 * args.workers)
    log = Path(tempfile.gettempdir()) / f"bench-backfill-{os.getpid()}.log"
    gateway: GatewayProcess = start_gateway(url, log, settings)
    think_s = args.think_ms / 1000
    try:
        await _dashboards(gateway.url, tokens["dashboard"], 2, 1.0, 0.0)  # warm up
        alone = await _dashboards(
            gateway.url, tokens["dashboard"], args.dashboards, args.seconds, think_s
        )
        stop = asyncio.Event()
        streams = asyncio.create_task(
            _streams(gateway.url, tokens["backfill"], args.streams, args.batch, stop)
        )
        await asyncio.sleep(min(2.0, args.seconds / 4))  # the backfill is at full speed
        loaded = await _dashboards(
            gateway.url, tokens["dashboard"], args.dashboards, args.seconds, think_s
        )
        stop.set()
        backfill = await streams
    finally:
        gateway.stop()
    return alone, loaded, backfill


async def _check_rows(url: str, ids: dict[str, int], backfill: Backfill, streams: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        fill_ids = [ids[f"fill:{i}"] for i in range(streams)]
        stored = await conn.fetchval(
            "SELECT count(*) FROM samples WHERE series_id = ANY($1::bigint[])", fill_ids
        )
    finally:
        await conn.close()
    if stored != backfill.acknowledged_rows:
        raise BenchError(f"{stored} rows stored, {backfill.acknowledged_rows} acknowledged")


def _render(result: Result, args: argparse.Namespace) -> str:
    def outcomes(statuses: dict[str, int]) -> str:
        return ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))

    def rate(tally: Tally) -> str:
        return f"{len(tally.latencies_ms) / args.seconds:.0f}"

    raw, alone, loaded, fill = result.raw_dashboard, result.alone, result.loaded, result.backfill
    return "\n".join(
        [
            "| phase | dashboard p50 | dashboard p99 | dashboard req/s | dashboard outcomes "
            "| ingest rows/s | ingest outcomes |",
            "|---|---|---|---|---|---|---|",
            f"| raw asyncpg: dashboard query, one connection | {raw.p(0.5):.1f} ms "
            f"| {raw.p(0.99):.1f} ms | - | - | - | - |",
            f"| raw asyncpg: {args.streams} COPY streams | - | - | - | - "
            f"| {result.raw_copy_rows_s:,.0f} | - |",
            f"| gateway: {args.dashboards} dashboards alone | {alone.p(0.5):.1f} ms "
            f"| {alone.p(0.99):.1f} ms | {rate(alone)} | {outcomes(alone.statuses)} | - | - |",
            f"| gateway: {args.dashboards} dashboards + {args.streams} ingest streams "
            f"| {loaded.p(0.5):.1f} ms | {loaded.p(0.99):.1f} ms | {rate(loaded)} "
            f"| {outcomes(loaded.statuses)} | {fill.rows_per_s:,.0f} | {outcomes(fill.statuses)} |",
        ]
    )


async def _run(args: argparse.Namespace) -> int:
    name = f"bench_backfill_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(args.database_url)
    url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await apply_migrations(url)
        conn = await asyncpg.connect(url)
        try:
            keys = [f"dash:{i}" for i in range(DASHBOARD_SERIES)]
            keys += [f"{side}:{i}" for side in ("fill", "raw") for i in range(args.streams)]
            for key in keys:
                await conn.execute(
                    "INSERT INTO series (key, kind, unit, name, resolution) "
                    "VALUES ($1, 'POWER', 'kW', $1, 'PT15M')",
                    key,
                )
            ids = dict(await conn.fetch("SELECT key, id FROM series"))
        finally:
            await conn.close()
        await _load_dashboards(url, ids)
        database = Database(url)
        try:
            tokens = {
                "dashboard": (await issue_key(database, [Scope.READ], name="dashboards")).token,
                "backfill": (await issue_key(database, [Scope.INGEST], name="backfill")).token,
            }
        finally:
            await database.dispose()
        raw = await _raw_dashboard(url, ids, min(5.0, args.seconds / 2))
        alone, loaded, backfill = await _gateway_phases(url, tokens, args)
        await _check_rows(url, ids, backfill, args.streams)
        raw_copy = await _raw_copy(url, ids, args.streams, args.batch, min(5.0, args.seconds / 2))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    result = Result(raw, raw_copy, alone, loaded, backfill)
    print(_render(result, args))
    print(
        f"\n{args.streams} ingest streams of one key ({args.batch:,} points a call), "
        f"{args.dashboards} dashboard clients of another key (think time {args.think_ms} ms), "
        f"{args.seconds:g} s per phase, {args.workers} worker(s); CPUs: {os.cpu_count()}; "
        f"command: python -m bench.backfill {' '.join(sys.argv[1:])}"
    )
    ratio = loaded.p(0.99) / alone.p(0.99)
    print(
        f"dashboard p99 {alone.p(0.99):.1f} ms alone, {loaded.p(0.99):.1f} ms under the backfill "
        f"({ratio:.2f}x; target <= 2x); ingest {backfill.rows_per_s:,.0f} rows/s through the "
        f"gateway, {result.raw_copy_rows_s:,.0f} rows/s raw COPY; rows stored = rows acknowledged"
    )
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.backfill", description=__doc__)
    add_database_url(parser)
    parser.add_argument("--streams", type=int, default=4, help="ingest streams (one key)")
    parser.add_argument("--batch", type=int, default=10_000, help="points per ingest call")
    parser.add_argument("--dashboards", type=int, default=20, help="dashboard clients")
    parser.add_argument("--think-ms", type=int, default=250, help="pause between dashboard reads")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each phase")
    parser.add_argument("--workers", type=int, default=1, help="gateway worker processes")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, correctness only")
    args = parser.parse_args(argv)
    if args.smoke:
        args.streams, args.batch, args.dashboards, args.seconds = 4, 500, 4, 2.0
    raise SystemExit(asyncio.run(_run(args)))


if __name__ == "__main__":
    main()
