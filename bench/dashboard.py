"""The dashboard mix of issue 12: closed-loop clients, each request 10 series x 1 week of
hourly buckets; 9 in 10 on the weeks real dashboards repeat (this week and the last few far
more often than older ones: Zipf weights by age), 1 in 10 on a moving "last 24 hours"
window that reaches the present (never cached). Run against the raw database (the same
statement the gateway sends, through asyncpg), the gateway without the result cache, and
the gateway with it (docs/cache.md, docs/performance.md).
"""

from __future__ import annotations

import asyncio
import math
import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import orjson

from bench.data import STEP_MS, Columns, make_columns, ms
from bench.report import Measure, Row
from bench.server import GatewayProcess, start_gateway
from db import aggregate as db_aggregate
from db.binds import positional
from db.intervals import parse_every

__all__ = ["LIVE_PREFIX", "READ_PREFIX", "dashboard_rows", "live_data"]

READ_PREFIX = "bench:read:"
LIVE_PREFIX = "bench:live:"
LIVE_SHARE = 0.1
_SELECTIONS = ("avg", "min max", "avg count last")
_QUERY = (
    "query($prefix: String!, $from: DateTime!, $to: DateTime!) {"
    " seriesList(filter: {keyPrefix: $prefix}, first: 100) { nodes { key"
    ' aggregate(from: $from, to: $to, every: "PT1H") { starts count %s } } } }'
)
_HOUR = parse_every("PT1H")


def live_data(series: int, now: datetime) -> list[Columns]:
    """`series` 15-minute series over the 8 days up to `now`, for the live window."""
    start_ms = (ms(now) // STEP_MS - 8 * 96) * STEP_MS
    start = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=start_ms)
    return [
        make_columns(f"{LIVE_PREFIX}{i:02d}", start, 8 * 96, seed=2000 + i) for i in range(series)
    ]


@dataclass(frozen=True)
class Request:
    prefix: str
    start: datetime
    end: datetime
    selection: str


class Mix:
    """The requests of one client, from its own seed."""

    def __init__(self, seed: int, first_week: datetime, weeks: int) -> None:
        self.rng = random.Random(seed)
        self.first_week = first_week
        self.ages = list(range(weeks))
        self.weights = [1 / (age + 1) for age in self.ages]

    def next(self) -> Request:
        selection = self.rng.choice(_SELECTIONS)
        if self.rng.random() < LIVE_SHARE:
            end = datetime.now(UTC)
            return Request(LIVE_PREFIX, end - timedelta(hours=24), end, selection)
        age = self.rng.choices(self.ages, self.weights)[0]
        start = self.first_week + timedelta(days=7 * (len(self.ages) - 1 - age))
        return Request(READ_PREFIX, start, start + timedelta(days=7), selection)


@dataclass
class LoadResult:
    latencies_ms: list[float]
    errors: int
    seconds: float

    def pct(self, p: float) -> float:
        lat = sorted(self.latencies_ms)
        return lat[min(len(lat) - 1, math.ceil(p / 100 * len(lat)) - 1)]

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds


async def _closed_loop(
    clients: int,
    seconds: float,
    mix: Callable[[int], Mix],
    call: Callable[[Request], Awaitable[None]],
) -> LoadResult:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def client(seed: int) -> None:
        nonlocal errors
        requests = mix(seed)
        while time.perf_counter() < stop_at:
            request = requests.next()
            t0 = time.perf_counter()
            try:
                await call(request)
            except Exception:
                errors += 1
            latencies.append((time.perf_counter() - t0) * 1000)

    t0 = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return LoadResult(latencies, errors, time.perf_counter() - t0)


def _body(request: Request) -> bytes:
    return orjson.dumps(
        {
            "query": _QUERY % request.selection,
            "variables": {
                "prefix": request.prefix,
                "from": request.start.isoformat(),
                "to": request.end.isoformat(),
            },
        }
    )


@dataclass
class Dashboard:
    """What the mix runs against: the series ids by prefix, the read data's first week."""

    http: httpx.AsyncClient
    pool: asyncpg.Pool
    ids: dict[str, list[int]]
    zones: dict[str, str]  # the series' zone by prefix (the gateway's default bucket zone)
    first_week: datetime
    weeks: int
    series: int
    timescaledb: bool

    def mix(self, seed: int) -> Mix:
        return Mix(seed, self.first_week, self.weeks)

    async def gateway(self, url: str, clients: int, seconds: float) -> LoadResult:
        async def call(request: Request) -> None:
            response = await self.http.post(
                url, content=_body(request), headers={"content-type": "application/json"}
            )
            data = orjson.loads(response.content)
            if response.status_code != 200 or data.get("errors"):
                raise RuntimeError(response.text[:300])
            if len(data["data"]["seriesList"]["nodes"]) != self.series:
                raise RuntimeError("dashboard query lost series")

        return await _closed_loop(clients, seconds, self.mix, call)

    def statement(self, request: Request) -> tuple[str, list[object]]:
        """The batched statement the gateway's db layer runs for this request."""
        names = [a for a in db_aggregate.AGGREGATES if a in {"count", *request.selection.split()}]
        zone = self.zones[request.prefix]
        sql = db_aggregate.aggregate_many_sql(
            _HOUR, names, timescaledb=self.timescaledb, rollup=None, utc=zone == "UTC"
        )
        params = db_aggregate.bucket_params(
            _HOUR, start=request.start, end=request.end, timezone=zone
        )
        params["sids"] = self.ids[request.prefix]
        return positional(sql, params)

    async def baseline(self, clients: int, seconds: float) -> LoadResult:
        async def call(request: Request) -> None:
            statement, args = self.statement(request)
            async with self.pool.acquire() as conn:
                rows = await conn.fetch(statement, *args)
            if not rows:
                raise RuntimeError("no buckets")

        return await _closed_loop(clients, seconds, self.mix, call)

    async def check(self, url: str) -> None:
        """The gateway's answers equal the raw statement's, before and after caching."""
        for request in (
            Request(READ_PREFIX, self.first_week, self.first_week + timedelta(days=7), "avg"),
            self.mix(0).next(),
        ):
            statement, args = self.statement(request)
            async with self.pool.acquire() as conn:
                rows = await conn.fetch(statement, *args)
            want: dict[int, list[int]] = {}
            for row in rows:
                want.setdefault(row["series_id"], []).append(row["count"])
            for _ in range(2):
                response = await self.http.post(
                    url, content=_body(request), headers={"content-type": "application/json"}
                )
                nodes = orjson.loads(response.content)["data"]["seriesList"]["nodes"]
                got = sorted(sum(n["aggregate"]["count"]) for n in nodes)
                if got != sorted(sum(c) for c in want.values()):
                    raise RuntimeError(f"dashboard answers differ from SQL: {got}")


async def _hits_and_misses(http: httpx.AsyncClient, graphql_url: str) -> tuple[float, float]:
    """The gateway's aggregate cache counters, from its /metrics."""
    url = graphql_url.removesuffix("/graphql") + "/metrics"
    try:
        text = (await http.get(url)).text
    except httpx.TransportError:  # a kept-alive connection the server has just closed
        text = (await http.get(url)).text
    found = {"hits": 0.0, "misses": 0.0}
    for line in text.splitlines():
        for name in found:
            if line.startswith(f'cache_{name}_total{{kind="aggregate"}} '):
                found[name] = float(line.split()[1])
    return found["hits"], found["misses"]


def _rows(label: str, result: LoadResult, *, target: bool) -> list[Row]:
    print(  # as each side ends, so a failure later in the run keeps the figures
        f"... {label}: {result.rate:.1f} req/s, p99 {result.pct(99):.0f} ms, "
        f"{result.errors} errors",
        file=sys.stderr,
    )
    rate = Measure("req/s", higher_is_better=True, samples=[result.rate])
    p99 = Measure("ms", higher_is_better=False, samples=[result.pct(99)])
    note = (
        f"{len(result.latencies_ms)} requests, {result.errors} errors, p50 "
        f"{result.pct(50):.0f} ms, p95 {result.pct(95):.0f} ms, "
        f"max {max(result.latencies_ms):.0f} ms"
    )
    rate_row = Row(f"{label}: rate", rate, note=note)
    p99_row = Row(f"{label}: p99 latency", p99)
    if target:
        rate_row.target, rate_row.met = "0 errors", result.errors == 0
        p99_row.target, p99_row.met = "< 250 ms", result.pct(99) < 250
    return [rate_row, p99_row]


async def dashboard_rows(
    d: Dashboard,
    *,
    database_url: str,
    uncached: GatewayProcess,
    clients: int,
    seconds: float,
    log_dir: Path,
    extra: dict[str, dict[str, str]],
    progress: Callable[[str], None],
    main_tree: Path | None = None,
) -> list[Row]:
    """The mix against the raw database, the gateway without the cache (`uncached`), and a
    gateway started per entry of `extra` (name -> GATEWAY_* settings, e.g. the cache in
    process or in Redis); ratios against the uncached gateway's rate."""
    label = f"{clients} clients x {seconds:.0f} s, dashboard mix ({d.series} series x 1 week, PT1H"
    label += f", {LIVE_SHARE:.0%} last 24 h)"
    # Each side runs the mix unmeasured first: a fresh process's first requests (lazy
    # imports, first executions) and an empty cache are not what a dashboard meets.
    warm_up = min(5.0, seconds / 10)
    progress("dashboard mix: raw asyncpg baseline")
    await d.baseline(clients, warm_up)
    base = await d.baseline(clients, seconds)
    progress("dashboard mix: gateway without the result cache")
    await d.check(uncached.url)
    await d.gateway(uncached.url, clients, warm_up)
    plain = await d.gateway(uncached.url, clients, seconds)
    rows = _rows(f"{label}, raw asyncpg", base, target=False)
    rows += _rows(f"{label}, gateway without cache", plain, target=False)
    if main_tree is not None:
        progress(f"dashboard mix: the gateway of {main_tree}")
        other = start_gateway(database_url, log_dir / "gateway-main.log", source=main_tree)
        try:
            await d.check(other.url)
            await d.gateway(other.url, clients, warm_up)
            rows += _rows(
                f"{label}, gateway of {main_tree.name}",
                await d.gateway(other.url, clients, seconds),
                target=False,
            )
        finally:
            other.stop()
    for name, settings in extra.items():
        progress(f"dashboard mix: gateway with the cache {name}")
        gateway = start_gateway(database_url, log_dir / f"gateway-{name}.log", settings)
        try:
            await d.check(gateway.url)
            await d.gateway(gateway.url, clients, warm_up)
            before = await _hits_and_misses(d.http, gateway.url)
            result = await d.gateway(gateway.url, clients, seconds)
            after = await _hits_and_misses(d.http, gateway.url)
        finally:
            gateway.stop()
        cached = _rows(f"{label}, gateway with cache {name}", result, target=True)
        hits, misses = (a - b for a, b in zip(after, before, strict=True))
        cached[0].note += f"; bucket reads: {hits:.0f} hits, {misses:.0f} misses"
        cached[0].baseline = Measure("req/s", higher_is_better=True, samples=[plain.rate])
        cached[0].note += f"; baseline column = gateway without cache ({plain.rate:.0f} req/s)"
        rows += cached
    return rows
