"""Bucketed aggregation pushed into PostgreSQL, one statement per request.

The same SQL shape runs on plain PostgreSQL (`date_bin`, 3-argument `date_trunc`) and on
TimescaleDB (`time_bucket`); bucket grids for gap filling and the fill itself are the same
SQL on both, so results are identical. Calendar buckets in UTC use the zone-less forms
(2-argument `date_trunc`, `time_bucket` without a zone), which are correct because every
session runs in UTC (db/engine.py) and cheaper per row (docs/timescaledb.md).
"""

from __future__ import annotations

import asyncio
import enum
import itertools
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.binds import positional
from db.engine import Database
from db.intervals import BucketWidth
from db.rollups import (
    Rollup,
    agg_sql as rollup_agg_sql,
    choose_rollup,
    guarded,
    same_grain,
)

__all__ = [
    "AGGREGATES",
    "BucketRequest",
    "BucketRows",
    "Fill",
    "aggregate_many_sql",
    "aggregate_sql",
    "bucket_end_expr",
    "bucket_expr",
    "bucket_params",
    "fetch_buckets",
    "fetch_buckets_many",
    "fetch_columns",
    "grid_sql",
    "read_rows",
    "split_total",
]

AGGREGATES = ("avg", "min", "max", "sum", "count", "first", "last")
_VALUE_AGGREGATES = tuple(a for a in AGGREGATES if a != "count")


class Fill(enum.Enum):
    NONE = "NONE"
    NULL = "NULL"
    ZERO = "ZERO"
    LOCF = "LOCF"
    LINEAR = "LINEAR"


@dataclass
class BucketRows:
    starts: list[datetime] = field(default_factory=list)
    ends: list[datetime] = field(default_factory=list)
    columns: dict[str, list[Any]] = field(default_factory=dict)


_ORIGIN = "(TIMESTAMP '2000-01-03 00:00' AT TIME ZONE CAST(:tz AS text))"


UTC_ZONES = frozenset({"UTC", "Etc/UTC"})


def bucket_expr(
    expr: str, width: BucketWidth, timescaledb: bool, param: str = "width", *, utc: bool = False
) -> str:
    """The start of the bucket holding `expr`; a fixed width is read from `:{param}`. With
    `utc` the zone is known to be UTC, the session's zone."""
    if width.is_calendar:
        if utc:
            if timescaledb:
                return f"time_bucket(interval '{width.calendar_interval}', {expr})"
            return f"date_trunc('{width.calendar_field}', {expr})"
        if timescaledb:
            return f"time_bucket(interval '{width.calendar_interval}', {expr}, CAST(:tz AS text))"
        return f"date_trunc('{width.calendar_field}', {expr}, CAST(:tz AS text))"
    if timescaledb:
        return f"time_bucket(CAST(:{param} AS interval), {expr}, origin => {_ORIGIN})"
    return f"date_bin(CAST(:{param} AS interval), {expr}, {_ORIGIN})"


def bucket_end_expr(
    width: BucketWidth, start: str = "start", param: str = "width", *, utc: bool = False
) -> str:
    """The end of the bucket starting at `start`: the next bucket's start."""
    if width.is_calendar and utc:  # the session's zone: calendar arithmetic as it is
        return f"{start} + interval '{width.calendar_interval}'"
    if width.is_calendar:
        # The next bucket's start on the wall clock, so DST days are 23 h or 25 h long.
        return (
            f"({start} AT TIME ZONE CAST(:tz AS text) + interval '{width.calendar_interval}') "
            "AT TIME ZONE CAST(:tz AS text)"
        )
    return f"{start} + CAST(:{param} AS interval)"


def _aggregate_expr(name: str, timescaledb: bool) -> str:
    if name == "count":
        return "count(*)"
    if name == "first":
        return "first(value, ts)" if timescaledb else "(array_agg(value ORDER BY ts))[1]"
    if name == "last":
        return "last(value, ts)" if timescaledb else "(array_agg(value ORDER BY ts DESC))[1]"
    return f"{name}(value)"


def grid_sql(
    width: BucketWidth,
    timescaledb: bool,
    *,
    lo: str = "CAST(:from AS timestamptz)",
    hi: str = "CAST(:to AS timestamptz)",
    param: str = "width",
    utc: bool = False,
) -> str:
    """`SELECT start` of every bucket intersecting [lo, hi), in time order."""
    last = f"{hi} - interval '1 microsecond'"
    first_bucket = bucket_expr(lo, width, timescaledb, param, utc=utc)
    last_bucket = bucket_expr(last, width, timescaledb, param, utc=utc)
    if width.is_calendar and utc:
        return (
            f"SELECT g AS start FROM generate_series({first_bucket}, {last_bucket}, "
            f"interval '{width.calendar_interval}') AS g"
        )
    if width.is_calendar:
        # Step on the local wall clock, then map each local start back to an instant.
        return (
            "SELECT g AT TIME ZONE CAST(:tz AS text) AS start FROM generate_series("
            f"({first_bucket}) AT TIME ZONE CAST(:tz AS text), "
            f"({last_bucket}) AT TIME ZONE CAST(:tz AS text), "
            f"interval '{width.calendar_interval}') AS g"
        )
    return (
        f"SELECT g AS start FROM generate_series({first_bucket}, {last}, "
        f"CAST(:{param} AS interval)) AS g"
    )


def _filled(name: str, fill: Fill) -> str:
    if fill is Fill.ZERO:
        return f"coalesce({name}, 0)"
    if fill is Fill.LOCF:
        # Rows after a non-empty bucket share its group; take that bucket's value.
        return f"first_value({name}) OVER (PARTITION BY {name}_fwd ORDER BY start)"
    if fill is Fill.LINEAR:
        prev_v = f"first_value({name}) OVER (PARTITION BY {name}_fwd ORDER BY start)"
        prev_t = f"first_value(start) OVER (PARTITION BY {name}_fwd ORDER BY start)"
        next_v = f"first_value({name}) OVER (PARTITION BY {name}_bwd ORDER BY start DESC)"
        next_t = f"first_value(start) OVER (PARTITION BY {name}_bwd ORDER BY start DESC)"
        return (
            f"CASE WHEN {name} IS NOT NULL THEN {name} ELSE {prev_v} + ({next_v} - {prev_v}) * "
            f"extract(epoch FROM start - {prev_t}) / "
            f"nullif(extract(epoch FROM {next_t} - {prev_t}), 0) END"
        )
    return name


def _agg_sql(
    width: BucketWidth,
    names: list[str],
    *,
    timescaledb: bool,
    utc: bool,
    rollup: Rollup | None,
    many: bool,
) -> str:
    """Per-bucket aggregates as `[series_id,] start, <names>` for `:sid` (or `:sids`), from
    the raw rows or from a rollup's buckets."""
    if rollup is not None:
        regroup = None
        if not same_grain(rollup, width):
            regroup = bucket_expr("r.bucket", width, timescaledb, utc=utc)
        return rollup_agg_sql(rollup, regroup, names, many=many)
    key = "series_id, " if many else ""
    series = "series_id = ANY(CAST(:sids AS integer[]))" if many else "series_id = :sid"
    agg_cols = "".join(f", {_aggregate_expr(n, timescaledb)} AS {n}" for n in names)
    return (
        f"SELECT {key}{bucket_expr('ts', width, timescaledb, utc=utc)} AS start{agg_cols} "
        f"FROM samples WHERE {series} AND ts >= :from AND ts < :to "
        f"GROUP BY {'1, 2' if many else '1'}"
    )


def aggregate_sql(
    width: BucketWidth,
    aggregates: Collection[str],
    fill: Fill,
    *,
    timescaledb: bool,
    rollup: Rollup | None = None,
    utc: bool = False,
) -> str:
    """The statement for one series. Only the requested aggregates are computed; with a
    `rollup` they are regrouped from its pre-aggregated buckets instead of raw samples.
    `utc`: the zone is UTC."""
    names = [a for a in AGGREGATES if a in aggregates]
    unknown = set(aggregates) - set(AGGREGATES)
    if unknown:
        raise ValueError(f"unknown aggregates {sorted(unknown)}")
    agg = _agg_sql(width, names, timescaledb=timescaledb, utc=utc, rollup=rollup, many=False)
    end = bucket_end_expr(width, utc=utc)
    if fill is Fill.NONE:
        cols = "".join(f", {n}" for n in names)
        return f"WITH agg AS ({agg}) SELECT start, {end} AS end_{cols} FROM agg ORDER BY start"

    values = [n for n in names if n in _VALUE_AGGREGATES]
    joined_cols = "".join(f", a.{n}" for n in values)
    if "count" in names:
        joined_cols += ", coalesce(a.count, 0) AS count"
    groups = ""
    if fill in (Fill.LOCF, Fill.LINEAR):
        groups = "".join(
            f", count({n}) OVER (ORDER BY start) AS {n}_fwd"
            f", count({n}) OVER (ORDER BY start DESC) AS {n}_bwd"
            for n in values
        )
    # Same column order as `names`: fetch_buckets maps columns by position.
    out_cols = "".join(", count" if n == "count" else f", {_filled(n, fill)} AS {n}" for n in names)
    return (
        f"WITH agg AS ({agg}), grid AS ({grid_sql(width, timescaledb, utc=utc)}), "
        f"joined AS (SELECT g.start{joined_cols} FROM grid g LEFT JOIN agg a USING (start)), "
        f"grouped AS (SELECT *{groups} FROM joined) "
        f"SELECT start, {end} AS end_{out_cols} FROM grouped ORDER BY start"
    )


async def _read(conn: AsyncConnection, sql: str, params: dict[str, Any]) -> Sequence[Any]:
    # A single read needs no transaction: autocommit saves the BEGIN and ROLLBACK round
    # trips SQLAlchemy would otherwise wrap around it.
    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
    return (await conn.execute(text(sql), params)).all()


async def read_rows(database: Database, sql: str, params: dict[str, Any]) -> Sequence[Any]:
    """Run one bucketed read statement on its own pooled connection."""
    async with database.connect() as conn:
        return await _read(conn, sql, params)


def bucket_params(
    width: BucketWidth, *, start: datetime, end: datetime, timezone: str
) -> dict[str, Any]:
    """The bind parameters every bucketed statement uses: :from, :to, :tz, and :width for
    fixed widths (calendar widths are literals in the SQL)."""
    params: dict[str, Any] = {"from": start, "to": end, "tz": timezone}
    if width.fixed is not None:
        params["width"] = width.fixed
    return params


def split_total(
    rows: Sequence[Any], start: datetime, end: datetime
) -> tuple[list[Sequence[Any]], list[Sequence[Any]]]:
    """`GROUP BY ROLLUP (start)` output as (per-bucket rows, [total row]); the total row
    (start NULL) gets the whole range `[start, end)` as its bucket."""
    buckets: list[Sequence[Any]] = [row for row in rows if row[0] is not None]
    total: list[Sequence[Any]] = [(start, end, *row[2:]) for row in rows if row[0] is None]
    return buckets, total


async def _fetch_records(
    database: Database,
    sql: str,
    params: dict[str, Any],
    *,
    raw_sql: str | None = None,
) -> list[Any]:
    """Run one read statement (`:name` parameters) on asyncpg itself; rows come back as
    asyncpg records, with no per-row conversion. With `raw_sql`, `sql` is a `guarded` read
    of a rollup, and `raw_sql` answers instead when it declines (a write awaits its
    refresh)."""
    async with database.acquire() as raw:
        statement, args = positional(sql, params)
        rows = list(await raw.fetch(statement, *args))
        if raw_sql is not None and rows and rows[0][0] is None:
            statement, args = positional(raw_sql, params)
            rows = list(await raw.fetch(statement, *args))
        return rows


# Rows decoded and turned into columns per step of a large read. Each step holds the event
# loop for a few milliseconds; between steps other requests run, so one 100,000-bucket read
# no longer stalls every small query for the whole of its decoding (docs/limits.md,
# "Per-key cost").
CHUNK_ROWS = 4_000


def _append(columns: list[list[Any]], rows: Sequence[Any], width: int) -> None:
    for column, values in zip(
        columns, zip(*rows, strict=True) if rows else [()] * width, strict=True
    ):
        column.extend(values)


async def _read_chunked(
    raw: asyncpg.Connection, statement: str, args: Sequence[Any], width: int, *, guard: bool
) -> list[list[Any]] | None:
    """The statement's result as `width` columns, read through a cursor `CHUNK_ROWS` rows at
    a time; None if `guard` and the first row's first column is NULL (a rollup declined)."""
    columns: list[list[Any]] = [[] for _ in range(width)]
    async with raw.transaction(readonly=True):
        cursor = await raw.cursor(statement, *args)
        while rows := await cursor.fetch(CHUNK_ROWS):
            if guard and not columns[0] and rows[0][0] is None:
                return None
            _append(columns, rows, width)
            if len(rows) < CHUNK_ROWS:
                break
            await asyncio.sleep(0)  # let other requests run between steps
    return columns


async def fetch_columns(
    database: Database,
    sql: str,
    params: dict[str, Any],
    *,
    width: int,
    expected_rows: int,
    raw_sql: str | None = None,
) -> list[list[Any]]:
    """Like `_fetch_records`, but the result as `width` columns. A read that may return more
    than `CHUNK_ROWS` rows (`expected_rows`, an upper bound) is read in steps through a
    cursor; smaller ones in one round trip."""
    if expected_rows <= CHUNK_ROWS:
        columns: list[list[Any]] = [[] for _ in range(width)]
        _append(columns, await _fetch_records(database, sql, params, raw_sql=raw_sql), width)
        return columns
    async with database.acquire() as raw:
        statement, args = positional(sql, params)
        read = await _read_chunked(raw, statement, args, width, guard=raw_sql is not None)
        if read is None:
            assert raw_sql is not None
            statement, args = positional(raw_sql, params)
            read = await _read_chunked(raw, statement, args, width, guard=False)
        assert read is not None
        return read


def _plan(database: Database, r: BucketRequest) -> tuple[Rollup | None, bool]:
    """The rollup that may answer (None: raw), and whether the zone is UTC."""
    caps = database.capabilities
    rollup = (
        choose_rollup(caps.rollups, r.width, r.timezone, r.start, r.end) if caps.rollups else None
    )
    return rollup, r.timezone in UTC_ZONES


def _bucket_rows(columns: list[list[Any]], names: list[str]) -> BucketRows:
    """Columns `start, end_, <names>` as BucketRows."""
    return BucketRows(
        starts=columns[0], ends=columns[1], columns=dict(zip(names, columns[2:], strict=True))
    )


async def fetch_buckets(
    database: Database,
    *,
    series_id: int,
    start: datetime,
    end: datetime,
    width: BucketWidth,
    timezone: str,
    aggregates: Collection[str],
    fill: Fill,
) -> BucketRows:
    request = BucketRequest(series_id, start, end, width, timezone, frozenset(aggregates), fill)
    rollup, utc = _plan(database, request)
    tsdb = database.capabilities.timescaledb
    sql = aggregate_sql(width, aggregates, fill, timescaledb=tsdb, utc=utc)
    params = bucket_params(width, start=start, end=end, timezone=timezone)
    params["sid"] = series_id
    names = [a for a in AGGREGATES if a in aggregates]
    n_columns, expected = len(names) + 2, width.max_buckets(start, end)
    if rollup is None:
        columns = await fetch_columns(
            database, sql, params, width=n_columns, expected_rows=expected
        )
    else:
        cached = aggregate_sql(width, aggregates, fill, timescaledb=tsdb, rollup=rollup, utc=utc)
        cached = guarded(cached, len(names) + 2, many=False)
        columns = await fetch_columns(
            database, cached, params, raw_sql=sql, width=n_columns, expected_rows=expected
        )
    return _bucket_rows(columns, names)


@dataclass(frozen=True)
class BucketRequest:
    """One series' `aggregate` call; calls that differ only in the series share a statement."""

    series_id: int
    start: datetime
    end: datetime
    width: BucketWidth
    timezone: str
    aggregates: frozenset[str]
    fill: Fill

    @property
    def shape(self) -> tuple[Any, ...]:
        return (self.start, self.end, self.width, self.timezone, self.aggregates, self.fill)


# Below this span (or when a rollup answers: few rows whatever the span) a read is dominated
# by per-statement overhead (pool checkout, round trips, planning), so sibling series share
# one statement; above it the raw scan dominates and one statement per series lets
# PostgreSQL spread the scans over the cores.
BATCH_SPAN = timedelta(days=31)
# Statements one request runs at once. Kept below the pool's steady size: overflow
# connections are opened and closed per use, which costs more than the parallel scan gains
# on a few cores.
PARALLEL_STATEMENTS = 4


def aggregate_many_sql(
    width: BucketWidth,
    names: list[str],
    *,
    timescaledb: bool,
    rollup: Rollup | None,
    utc: bool = False,
) -> str:
    """Unfilled buckets of several series (`:sids`) as `series_id, start, end_, ...`."""
    agg = _agg_sql(width, names, timescaledb=timescaledb, utc=utc, rollup=rollup, many=True)
    cols = "".join(f", {n}" for n in names)
    return (
        f"WITH agg AS ({agg}) SELECT series_id, start, {bucket_end_expr(width, utc=utc)} "
        f"AS end_{cols} FROM agg ORDER BY series_id, start"
    )


async def _fetch_many(database: Database, requests: Sequence[BucketRequest]) -> list[BucketRows]:
    first = requests[0]
    rollup, utc = _plan(database, first)
    names = [a for a in AGGREGATES if a in first.aggregates]
    tsdb = database.capabilities.timescaledb
    sql = aggregate_many_sql(first.width, names, timescaledb=tsdb, rollup=None, utc=utc)
    params = bucket_params(first.width, start=first.start, end=first.end, timezone=first.timezone)
    params["sids"] = sorted({r.series_id for r in requests})
    n_columns = len(names) + 3
    expected = first.width.max_buckets(first.start, first.end) * len(params["sids"])
    if rollup is None:
        columns = await fetch_columns(
            database, sql, params, width=n_columns, expected_rows=expected
        )
    else:
        cached = aggregate_many_sql(first.width, names, timescaledb=tsdb, rollup=rollup, utc=utc)
        cached = guarded(cached, len(names) + 3, many=True)
        columns = await fetch_columns(
            database, cached, params, raw_sql=sql, width=n_columns, expected_rows=expected
        )
    # Rows come ordered by series: each series is one run of the first column.
    by_series: dict[int, BucketRows] = {}
    at = 0
    for sid, run in itertools.groupby(columns[0]):
        n = sum(1 for _ in run)
        by_series[sid] = _bucket_rows([c[at : at + n] for c in columns[1:]], names)
        at += n
    empty = BucketRows(columns={n: [] for n in names})
    return [by_series.get(r.series_id, empty) for r in requests]


async def fetch_buckets_many(
    database: Database, requests: Sequence[BucketRequest]
) -> list[BucketRows]:
    """Answer several `aggregate` calls, in order: one statement per group of small
    unfilled reads that differ only in the series, one per series otherwise."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, request in enumerate(requests):
        batchable = request.fill is Fill.NONE and (
            request.end - request.start <= BATCH_SPAN or _plan(database, request)[0]
        )
        groups.setdefault(request.shape if batchable else (i,), []).append(i)

    gate = asyncio.Semaphore(PARALLEL_STATEMENTS)

    async def run(indices: list[int]) -> list[BucketRows]:
        async with gate:
            return await _run(indices)

    async def _run(indices: list[int]) -> list[BucketRows]:
        group = [requests[i] for i in indices]
        if len(group) > 1:
            return await _fetch_many(database, group)
        r = group[0]
        return [
            await fetch_buckets(
                database,
                series_id=r.series_id,
                start=r.start,
                end=r.end,
                width=r.width,
                timezone=r.timezone,
                aggregates=r.aggregates,
                fill=r.fill,
            )
        ]

    results: list[BucketRows | None] = [None] * len(requests)
    answers = await asyncio.gather(*(run(indices) for indices in groups.values()))
    for indices, answer in zip(groups.values(), answers, strict=True):
        for i, rows in zip(indices, answer, strict=True):
            results[i] = rows
    return [r for r in results if r is not None]
