"""The scenarios of issue 5, each run against the gateway (HTTP + GraphQL) and against the
raw-database baseline (asyncpg) on the same data, alternating, repeated.

Every run also checks its result (row counts, ingest counts, identical aggregates), so the
smoke mode is a correctness test of the whole benchmark and of the fast paths it drives.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import numpy as np
import orjson

from bench.dashboard import LIVE_PREFIX, READ_PREFIX, Dashboard, dashboard_rows, live_data
from bench.data import STEP_MS, Columns, make_columns, ms
from bench.report import Measure, Row
from bench.server import GatewayProcess
from db import aggregate as db_aggregate, rollups as db_rollups, samples as db_samples
from db.binds import positional
from db.intervals import parse_every

__all__ = ["Config", "Harness", "run_all", "run_dashboard"]

T = TypeVar("T")
BERLIN = "Europe/Berlin"


@dataclass(frozen=True)
class Config:
    rows: int = 1_000_000
    batch: int = 100_000
    concurrency: int = 2
    repeat: int = 3
    read_series: int = 10
    read_days: int = 365
    read_iterations: int = 20
    load_clients: int = 50
    load_seconds: float = 60.0
    list_shape: bool = True  # also time the contract `[DateTime!]!`/`[Float!]!` ingest shape
    ingest: bool = True  # False: the read scenarios only

    @classmethod
    def smoke(cls) -> Config:
        return cls(
            rows=20_000,
            batch=5_000,
            repeat=1,
            read_series=2,
            read_days=35,
            read_iterations=2,
            load_clients=5,
            load_seconds=2.0,
        )


class BenchError(RuntimeError):
    """A result was wrong: the benchmark stops rather than report numbers for it."""


@dataclass
class Harness:
    config: Config
    gateway: GatewayProcess
    http: httpx.AsyncClient
    pool: asyncpg.Pool
    timescaledb: bool
    rollups: frozenset[str]
    ids: dict[str, int]
    database_url: str = ""
    log_dir: Path = Path(".")
    redis_url: str | None = None
    main_tree: Path | None = None  # another checkout's gateway, for the dashboard mix

    async def graphql(self, body: bytes) -> dict[str, Any]:
        response = await self.http.post(
            self.gateway.url, content=body, headers={"content-type": "application/json"}
        )
        if response.status_code != 200:
            raise BenchError(f"HTTP {response.status_code}: {response.text[:500]}")
        data: dict[str, Any] = orjson.loads(response.content)
        if data.get("errors"):
            raise BenchError(f"GraphQL errors: {data['errors'][:3]}")
        return data

    async def reset_samples(self, load: Sequence[Columns] = ()) -> None:
        """Empty `samples`, optionally load columns (untimed), and checkpoint."""
        async with self.pool.acquire() as conn:
            await conn.execute("TRUNCATE samples")
            for columns in load:
                await conn.copy_to_table(
                    "samples",
                    source=_one(db_samples.copy_buffer([self.batch(columns)])),
                    columns=("series_id", "ts", "value"),
                    format="binary",
                )
            await conn.execute("CHECKPOINT")

    async def append_samples(self, load: Sequence[Columns]) -> None:
        """Add columns (untimed) next to what is stored; for series no gateway has read."""
        async with self.pool.acquire() as conn:
            for columns in load:
                await conn.copy_to_table(
                    "samples",
                    source=_one(db_samples.copy_buffer([self.batch(columns)])),
                    columns=("series_id", "ts", "value"),
                    format="binary",
                )

    def batch(self, columns: Columns) -> db_samples.SampleBatch:
        return db_samples.SampleBatch(self.ids[columns.key], columns.millis * 1000, columns.values)


async def _one(buffer: bytes) -> AsyncIterator[bytes]:
    yield buffer


async def _limited(jobs: Sequence[Callable[[], Awaitable[T]]], concurrency: int) -> list[T]:
    """Run jobs with at most `concurrency` in flight, in order of submission."""
    results: list[T | None] = [None] * len(jobs)
    queue = iter(enumerate(jobs))

    async def worker() -> None:
        for i, job in queue:
            results[i] = await job()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return [r for r in results if r is not None]


async def _timed(run: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await run()
    return time.perf_counter() - start


# ---------------------------------------------------------------- ingest

_INGEST = (
    "mutation($input: IngestInput!) { ingest(input: $input) "
    "{ accepted inserted updated unchanged userErrors { code message } } }"
)
_STAGING = db_samples.STAGING_DDL
_BASE_UPSERT = (
    "INSERT INTO samples AS t (series_id, ts, value) SELECT series_id, ts, value "
    "FROM ingest_staging ON CONFLICT (series_id, ts) DO UPDATE SET value = EXCLUDED.value "
    "WHERE t.value IS DISTINCT FROM EXCLUDED.value"
)


def ingest_body(columns: Columns, on_conflict: str, *, list_shape: bool = False) -> bytes:
    if list_shape:
        stamps = np.datetime_as_string(columns.millis.astype("datetime64[ms]"), timezone="UTC")
        item: dict[str, Any] = {
            "key": columns.key,
            "timestamps": stamps.tolist(),
            "values": columns.values.tolist(),
        }
    else:
        item = {"key": columns.key, "timestampsMs": columns.millis, "valuesColumn": columns.values}
    variables = {"input": {"series": [item], "onConflict": on_conflict}}
    return orjson.dumps(
        {"query": _INGEST, "variables": variables}, option=orjson.OPT_SERIALIZE_NUMPY
    )


async def _gateway_ingest(
    h: Harness, bodies: Sequence[bytes], expect: tuple[int, int, int]
) -> None:
    async def call(body: bytes) -> dict[str, Any]:
        result: dict[str, Any] = (await h.graphql(body))["data"]["ingest"]
        return result

    jobs = [functools.partial(call, b) for b in bodies]
    results = await _limited(jobs, h.config.concurrency)
    for result in results:
        got = (result["inserted"], result["updated"], result["unchanged"])
        if result["userErrors"] or got != expect:
            raise BenchError(f"ingest returned {result}, expected counts {expect}")


async def _baseline_ingest(h: Harness, buffers: Sequence[bytes], mode: str) -> None:
    async def call(buffer: bytes) -> None:
        async with h.pool.acquire() as conn, conn.transaction():
            if mode == "append":
                await conn.copy_to_table(
                    "samples", source=_one(buffer), columns=_COLS, format="binary"
                )
                return
            await conn.execute(_STAGING)
            await conn.copy_to_table(
                "ingest_staging", source=_one(buffer), columns=_COLS, format="binary"
            )
            await conn.execute(_BASE_UPSERT)

    await _limited([functools.partial(call, b) for b in buffers], h.config.concurrency)


_COLS = ("series_id", "ts", "value")


async def _check_table(h: Harness, data: Sequence[Columns]) -> None:
    expected_rows = sum(len(c.millis) for c in data)
    expected_sum = float(sum(c.values.sum() for c in data))
    async with h.pool.acquire() as conn:
        rows, total = await conn.fetchrow("SELECT count(*), coalesce(sum(value), 0) FROM samples")
    if rows != expected_rows or not math.isclose(total, expected_sum, rel_tol=1e-9):
        raise BenchError(f"samples holds {rows} rows (sum {total}), expected {expected_rows}")


async def ingest_scenario(
    h: Harness,
    name: str,
    data: Sequence[Columns],
    *,
    mode: str,  # "update" (empty range), "reingest" (all conflict, half changed), "append"
    list_shape: bool = False,
    with_baseline: bool = True,
) -> Row:
    on_conflict = "ERROR" if mode == "append" else "UPDATE"
    sent = [c.changed_half() for c in data] if mode == "reingest" else list(data)
    bodies = [ingest_body(c, on_conflict, list_shape=list_shape) for c in sent]
    buffers = [db_samples.copy_buffer([h.batch(c)]) for c in sent]
    n = h.config.batch
    expect = (0, n - n // 2, n // 2) if mode == "reingest" else (n, 0, 0)
    preload = data if mode == "reingest" else ()
    base_mode = "append" if mode == "append" else "upsert"
    rows = sum(len(c.millis) for c in sent)
    gateway = Measure("rows/s", higher_is_better=True)
    baseline = Measure("rows/s", higher_is_better=True)
    for r in range(h.config.repeat):
        sides = ["gateway", "baseline"] if with_baseline else ["gateway"]
        for side in sides if r % 2 == 0 else reversed(sides):
            await h.reset_samples(preload)
            if side == "gateway":
                gateway.samples.append(
                    rows / await _timed(lambda: _gateway_ingest(h, bodies, expect))
                )
            else:
                baseline.samples.append(
                    rows / await _timed(lambda: _baseline_ingest(h, buffers, base_mode))
                )
            await _check_table(h, sent)
    return Row(name, gateway, baseline if with_baseline else None)


# ---------------------------------------------------------------- reads


_AGG_ORDER = ("avg", "min", "max", "count")  # AGGREGATES order
_P1D = (
    "query($prefix: String!, $from: DateTime!, $to: DateTime!) {"
    " seriesList(filter: {keyPrefix: $prefix}, first: 100) { nodes { key"
    ' aggregate(from: $from, to: $to, every: "P1D", timezone: "Europe/Berlin")'
    " { starts ends avg min max count } } } }"
)


def _read_range(config: Config) -> tuple[datetime, datetime]:
    zone = ZoneInfo(BERLIN)
    start = datetime(2021, 1, 1, tzinfo=zone)
    return start, (start + timedelta(days=config.read_days)).replace(tzinfo=zone)


def read_data(config: Config) -> list[Columns]:
    start, end = _read_range(config)
    points = (ms(end) - ms(start)) // STEP_MS
    return [
        make_columns(f"bench:read:{i:02d}", start, points, seed=1000 + i)
        for i in range(config.read_series)
    ]


async def _baseline_buckets(
    h: Harness,
    keys: Sequence[str],
    every: str,
    start: datetime,
    end: datetime,
    *,
    use_rollups: bool,
) -> dict[str, list[asyncpg.Record]]:
    """The statements the gateway's db layer runs for these series, sent with asyncpg: one
    batched statement when a rollup answers, else one raw statement per series, at once."""
    width = parse_every(every)
    rollup = db_rollups.choose_rollup(h.rollups, width, BERLIN, start, end) if use_rollups else None
    params: dict[str, Any] = {"from": start, "to": end, "tz": BERLIN, "width": width.fixed}
    if rollup is not None:
        sql = db_aggregate.aggregate_many_sql(
            width, list(_AGG_ORDER), timescaledb=h.timescaledb, rollup=rollup
        )
        params["sids"] = [h.ids[k] for k in keys]
        # As the gateway sends it: the rollup answers only while no write awaits its refresh.
        statement, args = positional(
            db_rollups.guarded(sql, 3 + len(_AGG_ORDER), many=True), params
        )
        async with h.pool.acquire() as conn:
            rows = await conn.fetch(statement, *args)
        if rows and rows[0][0] is None:
            raise BenchError("a pending rollup refresh in the benchmark's read range")
        by_id: dict[int, list[asyncpg.Record]] = {h.ids[k]: [] for k in keys}
        for row in rows:
            by_id[row["series_id"]].append(row)
        return {k: by_id[h.ids[k]] for k in keys}
    sql = db_aggregate.aggregate_sql(
        width, set(_AGG_ORDER), db_aggregate.Fill.NONE, timescaledb=h.timescaledb
    )

    async def one(key: str) -> tuple[str, list[asyncpg.Record]]:
        statement, args = positional(sql, {**params, "sid": h.ids[key]})
        async with h.pool.acquire() as conn:
            return key, await conn.fetch(statement, *args)

    return dict(await asyncio.gather(*(one(k) for k in keys)))


def _same_buckets(gateway: dict[str, Any], baseline: list[asyncpg.Record]) -> bool:
    starts = [datetime.fromisoformat(s) for s in gateway["starts"]]
    if starts != [r["start"] for r in baseline]:
        return False
    if gateway["count"] != [r["count"] for r in baseline]:
        return False
    return all(
        math.isclose(g, r[name], rel_tol=1e-9, abs_tol=1e-9)
        for name in ("avg", "min", "max")
        for g, r in zip(gateway[name], baseline, strict=True)
    )


async def p1d_scenario(h: Harness, keys: Sequence[str]) -> Row:
    start, end = _read_range(h.config)
    body = orjson.dumps(
        {
            "query": _P1D,
            "variables": {
                "prefix": "bench:read:",
                "from": start.isoformat(),
                "to": end.isoformat(),
            },
        }
    )
    # Correctness first: the gateway's buckets equal the raw SQL's, series by series.
    nodes = (await h.graphql(body))["data"]["seriesList"]["nodes"]
    expected = await _baseline_buckets(h, keys, "P1D", start, end, use_rollups=False)
    for node in nodes:
        if not _same_buckets(node["aggregate"], expected[node["key"]]):
            raise BenchError(f"P1D buckets of {node['key']} differ from the raw SQL")
    if len(nodes) != len(keys):
        raise BenchError(f"{len(nodes)} series returned, expected {len(keys)}")
    iterations = h.config.read_iterations

    async def gateway_run() -> None:
        for _ in range(iterations):
            await h.graphql(body)

    async def baseline_run() -> None:
        for _ in range(iterations):
            await _baseline_buckets(h, keys, "P1D", start, end, use_rollups=True)

    return await _alternate(
        h,
        f"P1D aggregate, {len(keys)} series x {h.config.read_days} d, Berlin",
        gateway_run,
        baseline_run,
        iterations,
    )


async def _alternate(
    h: Harness,
    name: str,
    gateway_run: Callable[[], Awaitable[None]],
    baseline_run: Callable[[], Awaitable[None]],
    iterations: int,
) -> Row:
    gateway = Measure("ms", higher_is_better=False)
    baseline = Measure("ms", higher_is_better=False)
    for r in range(h.config.repeat):
        order = [(gateway, gateway_run), (baseline, baseline_run)]
        for measure, run in order if r % 2 == 0 else reversed(order):
            measure.samples.append(await _timed(run) / iterations * 1000)
    return Row(name, gateway, baseline)


_RAW = (
    "query($key: String!, $from: DateTime!, $to: DateTime!) { series(key: $key)"
    " { samples(from: $from, to: $to, limit: 1000) { timestamps values } } }"
)


async def raw_samples_scenario(h: Harness, key: str) -> Row:
    start, _ = _read_range(h.config)
    end = start + timedelta(minutes=15 * 1000)
    body = orjson.dumps(
        {"query": _RAW, "variables": {"key": key, "from": start.isoformat(), "to": end.isoformat()}}
    )
    sql = (
        "SELECT ts, value FROM samples WHERE series_id = $1 AND ts >= $2 AND ts < $3 "
        "ORDER BY ts LIMIT $4"
    )
    got = (await h.graphql(body))["data"]["series"]["samples"]
    async with h.pool.acquire() as conn:
        rows = await conn.fetch(sql, h.ids[key], start, end, 1001)
    if got["values"] != [r["value"] for r in rows] or len(rows) != 1000:
        raise BenchError("raw samples differ between the gateway and SQL")
    iterations = h.config.read_iterations * 5

    async def gateway_run() -> None:
        for _ in range(iterations):
            await h.graphql(body)

    async def baseline_run() -> None:
        for _ in range(iterations):
            async with h.pool.acquire() as conn:
                await conn.fetch(sql, h.ids[key], start, end, 1001)

    return await _alternate(
        h, "1,000 raw samples, one series", gateway_run, baseline_run, iterations
    )


async def rollup_scenario(h: Harness, keys: Sequence[str]) -> Row:
    """TimescaleDB only: the yearly P1D query from the raw hypertable vs from the rollup,
    both as SQL via asyncpg (the gateway uses the rollup SQL transparently)."""
    start, end = _read_range(h.config)
    raw = await _baseline_buckets(h, keys, "P1D", start, end, use_rollups=False)
    rolled = await _baseline_buckets(h, keys, "P1D", start, end, use_rollups=True)
    for key in keys:
        a, b = raw[key], rolled[key]
        same = [r["count"] for r in a] == [r["count"] for r in b] and all(
            math.isclose(x["avg"], y["avg"], rel_tol=1e-9) for x, y in zip(a, b, strict=True)
        )
        if not same:
            raise BenchError(f"rollup buckets of {key} differ from the raw scan")
    iterations = h.config.read_iterations

    async def rollup_run() -> None:
        for _ in range(iterations):
            await _baseline_buckets(h, keys, "P1D", start, end, use_rollups=True)

    async def raw_run() -> None:
        for _ in range(iterations):
            await _baseline_buckets(h, keys, "P1D", start, end, use_rollups=False)

    row = await _alternate(h, "", rollup_run, raw_run, iterations)
    row.scenario = f"TimescaleDB rollup vs raw scan: P1D, {len(keys)} series x 1 y (SQL)"
    row.note = "baseline column = raw hypertable scan"
    return row


def _correction_body(columns: Sequence[Columns]) -> bytes:
    item = [{"key": c.key, "timestampsMs": c.millis, "valuesColumn": c.values} for c in columns]
    variables = {"input": {"series": item, "onConflict": "UPDATE"}}
    return orjson.dumps(
        {"query": _INGEST, "variables": variables}, option=orjson.OPT_SERIALIZE_NUMPY
    )


async def correction_scenario(h: Harness, reads: Sequence[Columns]) -> Row:
    """TimescaleDB only: one day of every read series rewritten (new values) inside the
    materialised range, as SMARD revisions or meter corrections arrive. The gateway call
    includes its rollup refresh; the baseline is the same upsert via asyncpg without one
    (which leaves the rollups stale until the next gateway write of that day). Afterwards
    the yearly P1D read through the gateway must still equal the raw SQL."""
    day = slice(96 * 40, 96 * 41)  # one whole day, 40 days in

    def moved(by: float) -> list[Columns]:
        return [Columns(c.key, c.millis[day], c.values[day] + by) for c in reads]

    gateway = Measure("ms", higher_is_better=False)
    baseline = Measure("ms", higher_is_better=False)
    for r in range(h.config.repeat):
        body = _correction_body(moved(2 * r + 1))
        buffer = db_samples.copy_buffer([h.batch(c) for c in moved(2 * r + 2)])
        runs: list[tuple[Measure, Callable[[], Awaitable[object]]]] = [
            (gateway, functools.partial(h.graphql, body)),
            (baseline, functools.partial(_baseline_ingest, h, [buffer], "upsert")),
        ]
        for measure, run in runs if r % 2 == 0 else reversed(runs):
            measure.samples.append(await _timed(run) * 1000)
    # The last write goes through the gateway (refreshed); then the reads must be exact.
    await h.graphql(_correction_body(moved(1000)))
    check = replace(h, config=replace(h.config, repeat=1, read_iterations=1))
    await p1d_scenario(check, [c.key for c in reads])
    return Row(
        f"correction into materialised rollups: 1 day x {len(reads)} series, UPDATE",
        gateway,
        baseline,
        note="gateway call includes the rollup refresh; baseline = the same upsert without",
    )


# ---------------------------------------------------------------- load


async def load_scenario(h: Harness, progress: Callable[[str], None]) -> list[Row]:
    """The dashboard mix (bench.dashboard): raw database, gateway without and with the
    result cache (in process, and in Redis when one is given)."""
    reads = read_data(h.config)
    live = live_data(h.config.read_series, datetime.now(UTC))
    await h.append_samples(live)
    start, _ = _read_range(h.config)
    dashboard = Dashboard(
        http=h.http,
        pool=h.pool,
        ids={
            READ_PREFIX: [h.ids[c.key] for c in reads],
            LIVE_PREFIX: [h.ids[c.key] for c in live],
        },
        zones={READ_PREFIX: BERLIN, LIVE_PREFIX: "UTC"},
        first_week=start,
        weeks=max(1, h.config.read_days // 7),
        series=h.config.read_series,
        timescaledb=h.timescaledb,
    )
    extra = {"in process": {"cache_max_bytes": str(64 * 2**20)}}
    if h.redis_url:
        extra["in Redis"] = {"cache_redis_url": h.redis_url, "cache_redis_prefix": "gwc-bench"}
    return await dashboard_rows(
        dashboard,
        database_url=h.database_url,
        uncached=h.gateway,
        clients=h.config.load_clients,
        seconds=h.config.load_seconds,
        log_dir=h.log_dir,
        extra=extra,
        progress=progress,
        main_tree=h.main_tree,
    )


# ---------------------------------------------------------------- all


def ingest_data(config: Config) -> list[Columns]:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    return [
        make_columns(f"bench:ingest:{i:02d}", start, config.batch, seed=i)
        for i in range(config.rows // config.batch)
    ]


async def run_all(h: Harness, progress: Callable[[str], None]) -> list[Row]:
    rows: list[Row] = []
    data = ingest_data(h.config)
    per_call = f"{h.config.batch:,}-point calls, {h.config.concurrency} in flight"
    h.gateway.reset_peak_rss()
    rss_before = h.gateway.rss_bytes()

    if h.config.ingest:
        progress("ingest UPDATE into an empty range")
        row = await ingest_scenario(
            h, f"ingest UPDATE, empty range ({per_call})", data, mode="update"
        )
        row.target = ">= 300k rows/s and >= 0.8x"
        row.met = row.gateway.median >= 300_000 and (row.ratio or 0) >= 0.8
        rows.append(row)
        peak_first = h.gateway.peak_rss_bytes()

        progress("re-ingest: every row conflicts, half changed")
        row = await ingest_scenario(
            h, "re-ingest UPDATE, all conflict, half changed", data, mode="reingest"
        )
        row.target = ">= 0.8x"
        row.met = (row.ratio or 0) >= 0.8
        rows.append(row)

        progress("append: onConflict ERROR, plain COPY")
        row = await ingest_scenario(h, "append, onConflict ERROR (plain COPY)", data, mode="append")
        row.target = ">= 500k rows/s"
        row.met = row.gateway.median >= 500_000
        rows.append(row)

        if h.config.list_shape:
            progress("ingest UPDATE with the [DateTime!]!/[Float!]! list shape")
            row = await ingest_scenario(
                h,
                "ingest UPDATE, list shape `timestamps`/`values`",
                data,
                mode="update",
                list_shape=True,
            )
            row.note = "contract shape, for comparison"
            rows.append(row)

        peak_all = h.gateway.peak_rss_bytes()
        rows.append(
            Row(
                f"gateway peak RSS while ingesting {h.config.rows:,} rows",
                Measure("MB", higher_is_better=False, samples=[peak_first / 2**20]),
                note=f"RSS at start {rss_before / 2**20:.0f} MB; {h.config.repeat} runs of the "
                f"first scenario; after all ingest scenarios {peak_all / 2**20:.0f} MB",
                target="< 400 MB",
                met=peak_first < 400 * 2**20,
            )
        )

    progress("loading read data")
    reads = read_data(h.config)
    await h.reset_samples(reads)
    keys = [c.key for c in reads]
    if h.rollups:
        progress("materialising rollups")
        start, end = _read_range(h.config)
        async with h.pool.acquire() as conn:
            # The rows were loaded around the gateway (no pending windows): rebuild them.
            await conn.execute(
                "CALL rollup_rebuild($1, $2)", start - timedelta(days=2), end + timedelta(days=2)
            )

    progress("P1D aggregate reads")
    row = await p1d_scenario(h, keys)
    row.target = "<= 1.25x"
    row.met = (row.ratio or 99) <= 1.25
    rows.append(row)

    progress("raw sample reads")
    row = await raw_samples_scenario(h, keys[0])
    row.target = "<= 1.25x"
    row.met = (row.ratio or 99) <= 1.25
    rows.append(row)

    if h.rollups:
        progress("corrections into materialised rollups")
        rows.append(await correction_scenario(h, reads))

    if h.rollups:
        progress("rollup vs raw scan")
        row = await rollup_scenario(h, keys)
        ratio = row.ratio or 0
        row.target = ">= 10x faster"
        row.met = ratio > 0 and 1 / ratio >= 10
        row.note += f"; rollup {1 / ratio:.1f}x faster" if ratio else ""
        rows.append(row)

    progress("load: concurrent dashboard clients")
    rows.extend(await load_scenario(h, progress))
    return rows


async def run_dashboard(h: Harness, progress: Callable[[str], None]) -> list[Row]:
    """`--only dashboard`: the read data and the dashboard mix, nothing else."""
    progress("loading read data")
    await h.reset_samples(read_data(h.config))
    progress("load: concurrent dashboard clients")
    return await load_scenario(h, progress)
