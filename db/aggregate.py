"""Bucketed aggregation pushed into PostgreSQL, one statement per request.

The same SQL shape runs on plain PostgreSQL (`date_bin`, 3-argument `date_trunc`) and on
TimescaleDB (`time_bucket`); bucket grids for gap filling and the fill itself are the same
SQL on both, so results are identical.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text

from db.engine import Database
from db.intervals import BucketWidth
from db.rollups import Rollup, agg_sql as rollup_agg_sql, choose_rollup

__all__ = [
    "AGGREGATES",
    "BucketRows",
    "Fill",
    "aggregate_sql",
    "bucket_end_expr",
    "bucket_expr",
    "fetch_buckets",
    "grid_sql",
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


def bucket_expr(expr: str, width: BucketWidth, timescaledb: bool, param: str = "width") -> str:
    """The start of the bucket holding `expr`; a fixed width is read from `:{param}`."""
    if width.is_calendar:
        if timescaledb:
            return f"time_bucket(interval '{width.calendar_interval}', {expr}, CAST(:tz AS text))"
        return f"date_trunc('{width.calendar_field}', {expr}, CAST(:tz AS text))"
    if timescaledb:
        return f"time_bucket(CAST(:{param} AS interval), {expr}, origin => {_ORIGIN})"
    return f"date_bin(CAST(:{param} AS interval), {expr}, {_ORIGIN})"


def bucket_end_expr(width: BucketWidth, start: str = "start", param: str = "width") -> str:
    """The end of the bucket starting at `start`: the next bucket's start."""
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
) -> str:
    """`SELECT start` of every bucket intersecting [lo, hi), in time order."""
    last = f"{hi} - interval '1 microsecond'"
    first_bucket = bucket_expr(lo, width, timescaledb, param)
    last_bucket = bucket_expr(last, width, timescaledb, param)
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


def aggregate_sql(
    width: BucketWidth,
    aggregates: Collection[str],
    fill: Fill,
    *,
    timescaledb: bool,
    rollup: Rollup | None = None,
) -> str:
    """The statement for one series. Only the requested aggregates are computed; with a
    `rollup` they are regrouped from its pre-aggregated buckets instead of raw samples."""
    names = [a for a in AGGREGATES if a in aggregates]
    unknown = set(aggregates) - set(AGGREGATES)
    if unknown:
        raise ValueError(f"unknown aggregates {sorted(unknown)}")
    bucket = bucket_expr("ts", width, timescaledb)
    agg_cols = "".join(f", {_aggregate_expr(n, timescaledb)} AS {n}" for n in names)
    agg = (
        f"SELECT {bucket} AS start{agg_cols} FROM samples "
        "WHERE series_id = :sid AND ts >= :from AND ts < :to GROUP BY 1"
    )
    if rollup is not None:
        agg = rollup_agg_sql(rollup, bucket_expr("r.bucket", width, timescaledb), names)
    end = bucket_end_expr(width)
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
        f"WITH agg AS ({agg}), grid AS ({grid_sql(width, timescaledb)}), "
        f"joined AS (SELECT g.start{joined_cols} FROM grid g LEFT JOIN agg a USING (start)), "
        f"grouped AS (SELECT *{groups} FROM joined) "
        f"SELECT start, {end} AS end_{out_cols} FROM grouped ORDER BY start"
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
    caps = database.capabilities
    rollup = choose_rollup(caps.rollups, width, timezone, start, end) if caps.rollups else None
    sql = aggregate_sql(width, aggregates, fill, timescaledb=caps.timescaledb, rollup=rollup)
    params: dict[str, Any] = {"sid": series_id, "from": start, "to": end, "tz": timezone}
    if not width.is_calendar:
        params["width"] = width.fixed
    names = [a for a in AGGREGATES if a in aggregates]
    async with database.connect() as conn:
        rows = (await conn.execute(text(sql), params)).all()
    result = BucketRows(
        starts=[r[0] for r in rows],
        ends=[r[1] for r in rows],
        columns={n: [r[i + 2] for r in rows] for i, n in enumerate(names)},
    )
    return result
