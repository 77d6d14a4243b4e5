"""`python -m bench.fairness`: full-budget clients against small queries of another key
(issue 10, attack 4; docs/limits.md, "Per-key cost").

One key's `heavy` clients each ask, again and again, for a 100,000-bucket PT1S aggregate (the
whole point budget of a request, ~16 MB of JSON); they retry 50 ms after any refusal, as an
impatient client would. Another key's `small` clients ask for a one-day PT1H aggregate (24
buckets). The small queries' latency is measured alone and under the load, for the gateway
with the per-key cost limits off (what the issue measured) and with the defaults. The raw
database time of the small query (asyncpg, same SQL shape) is the baseline of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import numpy as np
import orjson
from sqlalchemy.engine import make_url

from bench.server import GatewayProcess, add_database_url, start_gateway
from db import samples as db_samples
from db.engine import Database
from db.migrate import apply_migrations
from gateway.keys import issue_key
from resolvers.auth import Scope

__all__ = ["main"]

START = datetime(2025, 1, 1, tzinfo=UTC)
HEAVY_SPAN_S = 99_999  # PT1S buckets in [START, START + span): 100,000 points, the whole budget
_AGGREGATE = (
    "query($key: String!, $from: DateTime!, $to: DateTime!, $every: String!) { series(key: $key)"
    " { aggregate(from: $from, to: $to, every: $every) { starts count avg min max } } }"
)
SMALL_SQL = (
    "SELECT date_bin('1 hour', ts, $2) AS start, count(*), avg(value), min(value), max(value) "
    "FROM samples WHERE series_id = $1 AND ts >= $2 AND ts < $3 GROUP BY 1 ORDER BY 1"
)
LIMITS_OFF = {
    "key_cost_budget": "",
    "key_max_expensive": "1000",
    "max_expensive_requests": "1000",
    "max_graphql_requests": "1000",
}


def _body(key: str, span: timedelta, every: str) -> bytes:
    variables = {
        "key": key,
        "from": START.isoformat(),
        "to": (START + span).isoformat(),
        "every": every,
    }
    return orjson.dumps({"query": _AGGREGATE, "variables": variables})


HEAVY = _body("fair:heavy", timedelta(seconds=HEAVY_SPAN_S), "PT1S")
SMALL = _body("fair:small", timedelta(days=1), "PT1H")


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.statuses[outcome] = self.statuses.get(outcome, 0) + 1

    def p(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _ask(http: httpx.AsyncClient, url: str, token: str, body: bytes, tally: Tally) -> bool:
    """One request; True if it was answered with data and no error."""
    started = time.perf_counter()
    try:
        response = await http.post(
            url,
            content=body,
            headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
        )
    except httpx.HTTPError as exc:
        tally.count(type(exc).__name__)
        return False
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        tally.count(str(response.status_code))
        return False
    errors = orjson.loads(response.content).get("errors")
    if errors:
        tally.count(str(errors[0].get("extensions", {}).get("code")))
        return False
    tally.latencies_ms.append(elapsed)
    tally.count("200")
    return True


async def _clients(
    url: str, token: str, body: bytes, clients: int, seconds: float, pause_s: float
) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + seconds

    async def client() -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            while time.monotonic() < deadline:
                if not await _ask(http, url, token, body, tally):
                    await asyncio.sleep(0.05)
                elif pause_s:
                    await asyncio.sleep(pause_s)

    await asyncio.gather(*(client() for _ in range(clients)))
    return tally


async def _load_data(url: str, series: dict[str, int]) -> None:
    conn = await asyncpg.connect(url)
    try:
        heavy = np.arange(HEAVY_SPAN_S, dtype=np.int64)
        small = np.arange(0, 86_400, 900, dtype=np.int64)
        start_us = int(START.timestamp()) * 1_000_000
        batches = [
            db_samples.SampleBatch(
                series["fair:heavy"], start_us + heavy * 1_000_000, np.sin(heavy / 600.0)
            ),
            db_samples.SampleBatch(
                series["fair:small"], start_us + small * 1_000_000, small / 900.0
            ),
        ]

        async def source() -> object:
            yield db_samples.copy_buffer(batches)

        await conn.copy_to_table(
            "samples", source=source(), columns=("series_id", "ts", "value"), format="binary"
        )
        await conn.execute("ANALYZE samples")
    finally:
        await conn.close()


async def _raw_small(url: str, series_id: int, seconds: float) -> Tally:
    tally = Tally()
    conn = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            await conn.fetch(SMALL_SQL, series_id, START, START + timedelta(days=1))
            tally.latencies_ms.append((time.perf_counter() - started) * 1000)
    finally:
        await conn.close()
    return tally


@dataclass
class Phase:
    name: str
    small: Tally
    heavy: Tally | None = None
    peak_rss_mb: float = 0.0


async def _run_gateway(
    url: str, name: str, settings: dict[str, str], tokens: dict[str, str], args: argparse.Namespace
) -> list[Phase]:
    log = Path(tempfile.gettempdir()) / f"{name}-gateway.log"
    gateway: GatewayProcess = start_gateway(url, log, {"env": "prod", **settings})
    try:
        await _clients(gateway.url, tokens["small"], SMALL, 1, 1.0, 0.0)  # warm up
        gateway.reset_peak_rss()
        alone = await _clients(
            gateway.url, tokens["small"], SMALL, args.small_clients, args.seconds / 2, 0.02
        )
        phases = [Phase(f"{name}: small queries alone", alone)]
        gateway.reset_peak_rss()
        heavy, small = await asyncio.gather(
            _clients(gateway.url, tokens["heavy"], HEAVY, args.heavy_clients, args.seconds, 0.0),
            _clients(gateway.url, tokens["small"], SMALL, args.small_clients, args.seconds, 0.02),
        )
        phases.append(
            Phase(
                f"{name}: under {args.heavy_clients} full-budget clients",
                small,
                heavy,
                gateway.peak_rss_bytes() / 1e6,
            )
        )
        return phases
    finally:
        gateway.stop()


def _render(phases: list[Phase], raw: Tally) -> str:
    lines = [
        "| phase | small p50 | small p99 | small outcomes | heavy answered | heavy refused "
        "| peak RSS |",
        "|---|---|---|---|---|---|---|",
        f"| raw asyncpg, small query alone | {raw.p(0.5):.1f} ms | {raw.p(0.99):.1f} ms "
        f"| {len(raw.latencies_ms)} | - | - | - |",
    ]
    for phase in phases:
        heavy = phase.heavy
        refused = (
            ", ".join(f"{k}: {v}" for k, v in sorted(heavy.statuses.items()) if k != "200")
            if heavy
            else "-"
        )
        lines.append(
            f"| {phase.name} | {phase.small.p(0.5):.1f} ms | {phase.small.p(0.99):.1f} ms "
            f"| {', '.join(f'{k}: {v}' for k, v in sorted(phase.small.statuses.items()))} "
            f"| {heavy.statuses.get('200', 0) if heavy else '-'} | {refused or '-'} "
            f"| {f'{phase.peak_rss_mb:.0f} MB' if phase.peak_rss_mb else '-'} |"
        )
    return "\n".join(lines)


async def _run(args: argparse.Namespace) -> int:
    name = f"bench_fair_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(args.database_url)
    url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await apply_migrations(url)
        conn = await asyncpg.connect(url)
        try:
            for key in ("fair:heavy", "fair:small"):
                await conn.execute(
                    "INSERT INTO series (key, kind, unit, name) VALUES ($1, 'POWER', 'kW', $1)",
                    key,
                )
            series = dict(await conn.fetch("SELECT key, id FROM series"))
        finally:
            await conn.close()
        await _load_data(url, series)
        database = Database(url)
        try:
            tokens = {
                who: (await issue_key(database, [Scope.READ], name=f"bench-{who}")).token
                for who in ("heavy", "small")
            }
        finally:
            await database.dispose()
        raw = await _raw_small(url, series["fair:small"], min(5.0, args.seconds / 2))
        phases = await _run_gateway(url, "limits off", LIMITS_OFF, tokens, args)
        phases += await _run_gateway(url, "defaults", {}, tokens, args)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print(_render(phases, raw))
    print(
        f"\n{args.heavy_clients} heavy clients (one key) x {args.seconds:g} s, "
        f"{args.small_clients} small clients (another key); "
        f"CPUs: {os.cpu_count()}; command: python -m bench.fairness {' '.join(sys.argv[1:])}"
    )
    loaded = phases[-1].small
    alone = phases[-2].small
    print(
        f"defaults: small p99 {alone.p(0.99):.1f} ms alone, {loaded.p(0.99):.1f} ms loaded "
        f"({loaded.p(0.99) / alone.p(0.99):.2f}x; target <= 2x), "
        f"503s: {loaded.statuses.get('503', 0)}; median {loaded.p(0.5):.1f} ms"
    )
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fairness", description=__doc__)
    add_database_url(parser)
    parser.add_argument("--heavy-clients", type=int, default=20)
    parser.add_argument("--small-clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0, help="load duration")
    parser.add_argument("--smoke", action="store_true", help="2 heavy clients for 2 s")
    args = parser.parse_args(argv)
    if args.smoke:
        args.heavy_clients, args.seconds = 2, 2.0
    raise SystemExit(asyncio.run(_run(args)))


if __name__ == "__main__":
    main()
