"""`python -m bench.keys`: what the in-process key cache saves per request.

Creates a scratch database, issues a read key, and starts two production-mode gateways on it:
one with the key cache on (`GATEWAY_KEY_CACHE_TTL_S=30`), one with it off (`0`). Sends the
cheapest authenticated request there is (`{ __typename }`: no resolver touches the database,
so the key lookup is the only query) one at a time, alternating rounds between the two, and
prints the median and p90 latency of each side. Baselines from the same run: the key lookup
through the gateway's db layer (`db.keys.find_key`, what an uncached request pays) and the
bare SELECT through asyncpg. Every response is checked; figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx

from bench.scratch import create_scratch_database, drop_database
from bench.server import GatewayProcess, add_database_url, start_gateway
from db import keys as db_keys
from db.engine import Database
from gateway.keys import digest, issue_key
from resolvers.auth import Scope

QUERY = {"query": "{ __typename }"}
ROUND = 50  # requests per side before switching


def _figures(times_ms: list[float]) -> str:
    ordered = sorted(times_ms)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"median {statistics.median(ordered):7.3f} ms   p90 {p90:7.3f} ms   n={len(ordered)}"


async def _timed(times: list[float], call: Callable[[], Awaitable[None]], count: int) -> None:
    for _ in range(count):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)


async def _measure(
    url: str, requests: int, cached: GatewayProcess, uncached: GatewayProcess
) -> None:
    database = Database(url)
    raw = await asyncpg.connect(url)
    try:
        token = (await issue_key(database, [Scope.READ], name="bench")).token
        headers = {"Authorization": f"Bearer {token}"}
        key_digest = digest(token)
        times: dict[str, list[float]] = {"on": [], "off": [], "find_key": [], "asyncpg": []}
        async with httpx.AsyncClient(timeout=30, headers=headers) as http:

            def request(gateway: GatewayProcess) -> Callable[[], Awaitable[None]]:
                async def call() -> None:
                    response = await http.post(gateway.url, json=QUERY)
                    if response.status_code != 200 or response.json() != {
                        "data": {"__typename": "Query"}
                    }:
                        raise SystemExit(
                            f"unexpected answer: {response.status_code} {response.text}"
                        )

                return call

            async def find_key() -> None:
                if await db_keys.find_key(database, key_digest) is None:
                    raise SystemExit("the key is missing")

            async def select() -> None:
                await raw.fetchrow(
                    "SELECT id, scopes, expires_at, revoked_at FROM api_keys "
                    "WHERE token_sha256 = $1",
                    key_digest,
                )

            sides = {
                "on": request(cached),
                "off": request(uncached),
                "find_key": find_key,
                "asyncpg": select,
            }
            for call in sides.values():  # warm-up: connections, caches, code paths
                await _timed([], call, 20)
            done = 0
            while done < requests:
                count = min(ROUND, requests - done)
                for name, call in sides.items():
                    await _timed(times[name], call, count)
                done += count
    finally:
        await raw.close()
        await database.dispose()
    saving = statistics.median(times["off"]) - statistics.median(times["on"])
    print("Authenticated `{ __typename }`, one request at a time (production mode)")
    print(f"  key cache on  (TTL 30 s)     {_figures(times['on'])}")
    print(f"  key cache off (TTL 0)        {_figures(times['off'])}")
    print(f"  saving per request (median)  {saving:.3f} ms")
    print("Baseline: the key lookup alone")
    print(f"  db.keys.find_key (db layer)  {_figures(times['find_key'])}")
    print(f"  bare SELECT via asyncpg      {_figures(times['asyncpg'])}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.keys", description=__doc__)
    add_database_url(parser)
    parser.add_argument("--requests", type=int, default=2000, help="per side (default 2000)")
    args = parser.parse_args(argv)

    url = asyncio.run(create_scratch_database(args.database_url, "bench_keys"))
    started: list[GatewayProcess] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for ttl in ("30", "0"):
                started.append(
                    start_gateway(
                        url, Path(tmp) / f"gateway-{ttl}.log",
                        {"env": "prod", "key_cache_ttl_s": ttl},
                    )
                )  # fmt: skip
            asyncio.run(_measure(url, args.requests, *started))
    finally:
        for gateway in started:
            gateway.stop()
        asyncio.run(drop_database(args.database_url, url))


if __name__ == "__main__":
    main()
