"""Energy per bucket from POWER, METER and ENERGY series, integrated in PostgreSQL.

Every source becomes a set of integration intervals `[t0, t1)` with a power (kW) at each end,
split into its positive and negative part before integrating (docs/domain.md §1, E8):

    POWER TRAPEZOIDAL  [t_i, t_i+1), P_i -> P_i+1 linear; spacings above `max_gap` are skipped
    POWER LEFT         [t_i, t_i+1), P_i held (report-on-change); same gap rule
    POWER MEAN         [t_i, t_i + resolution), P_i is the interval mean (held)
    ENERGY             [t_i, t_i + resolution), E_i spread evenly (mean power E_i / dt)
    METER              [t_i-1, t_i), the register delta spread evenly; reset (< 0.9 x previous)
                       counts from 0, rollover adds the modulus, a dip counts 0 and keeps the
                       higher baseline (docs/domain.md §2). Gaps lose nothing: the delta holds it.
    HOLD               a step function (prices): P_i held over [t_i, t_i + resolution)

An interval that straddles a bucket edge is cut at the edge; the power at the cut is
interpolated on the line between its ends (for held values it is the held value), so the
trapezoid is exact per piece. Coverage of a bucket = integrated seconds / seconds of the bucket
inside [from, to); nothing is scaled up to hide missing time.

Buckets come from `db.aggregate` (same calendar semantics as `aggregate`: wall-clock days in the
requested zone, 23 h / 25 h on DST days).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from db.aggregate import (
    bucket_end_expr,
    bucket_expr,
    bucket_params,
    grid_sql,
    read_rows,
    split_total,
)
from db.durations import parse_duration
from db.engine import Database
from db.intervals import BucketWidth
from db.series import SeriesRecord

__all__ = [
    "POWER_UNITS",
    "ENERGY_UNITS",
    "EnergyRows",
    "Method",
    "Source",
    "UnsupportedSeries",
    "energy_ctes",
    "energy_statement",
    "fetch_energy",
    "secs",
    "source_for",
    "source_params",
]

# Factors to kW and kWh.
POWER_UNITS = {"W": 0.001, "kW": 1.0, "MW": 1000.0}
ENERGY_UNITS = {"Wh": 0.001, "kWh": 1.0, "MWh": 1000.0}
DEFAULT_MIN_GAP = timedelta(minutes=5)


class Method(enum.Enum):
    TRAPEZOIDAL = "TRAPEZOIDAL"
    LEFT = "LEFT"
    MEAN = "MEAN"
    ENERGY = "ENERGY"
    METER = "METER"
    HOLD = "HOLD"


class UnsupportedSeries(ValueError):
    """The series cannot yield energy (wrong kind or an unknown unit)."""

    code = "UNSUPPORTED_SERIES"


@dataclass(frozen=True)
class Source:
    series_id: int
    method: Method
    scale: float  # raw value -> kW (power-like) or kWh (ENERGY, METER)
    max_gap: timedelta | None
    resolution: timedelta | None
    modulus: float | None = None


def _default_gap(record: SeriesRecord, resolution: timedelta | None) -> timedelta | None:
    if record.max_gap is not None:
        return record.max_gap
    if resolution is None:
        return None  # irregular, report-on-change: a held value is valid until the next one
    return max(2 * resolution, DEFAULT_MIN_GAP)


def source_for(record: SeriesRecord, *, hold: bool = False) -> Source:
    """How to integrate `record`. `hold` integrates any series as a step function with scale
    1 (time-weighted means of prices and intensities)."""
    resolution = parse_duration(record.resolution) if record.resolution else None
    if resolution is not None and resolution <= timedelta(0):
        resolution = None
    gap = _default_gap(record, resolution)
    if hold:
        return Source(record.id, Method.HOLD, 1.0, gap, resolution)
    kind, unit = record.kind, record.unit
    if kind == "POWER":
        if unit not in POWER_UNITS:
            raise UnsupportedSeries(
                f"series {record.key!r}: power unit {unit!r} is not one of {sorted(POWER_UNITS)}"
            )
        default = Method.TRAPEZOIDAL if resolution is not None else Method.LEFT
        method = Method(record.integration) if record.integration else default
        return Source(record.id, method, POWER_UNITS[unit], gap, resolution)
    if kind in ("ENERGY", "METER"):
        if unit not in ENERGY_UNITS:
            raise UnsupportedSeries(
                f"series {record.key!r}: energy unit {unit!r} is not one of {sorted(ENERGY_UNITS)}"
            )
        method = Method.METER if kind == "METER" else Method.ENERGY
        modulus = record.meter_modulus if kind == "METER" else None
        return Source(record.id, method, ENERGY_UNITS[unit], gap, resolution, modulus)
    raise UnsupportedSeries(
        f"series {record.key!r} is a {kind} series; energy needs POWER, ENERGY or METER"
    )


def secs(expr: str) -> str:
    # date_part returns float8; extract() returns numeric since PostgreSQL 14 (several x slower).
    return f"date_part('epoch', {expr})"


_FROM = "CAST(:from AS timestamptz)"
_TO = "CAST(:to AS timestamptz)"


_REGISTER = """
-- Register events (docs/domain.md §2): a wrapped delta that is small against the modulus is a
-- rollover; a drop below 90 % of the previous reading is a reset; a smaller drop is a dip.
{n}_ev AS (
    SELECT *, CASE
        WHEN method <> 'METER' OR vp IS NULL THEN NULL
        WHEN value >= vp THEN 'inc'
        WHEN modulus IS NOT NULL AND modulus - vp + value < 0.1 * modulus THEN 'rollover'
        WHEN value < 0.9 * vp THEN 'reset'
        ELSE 'dip' END AS event
    FROM {n}_w
),
{n}_seg AS (
    SELECT *, count(*) FILTER (WHERE event IN ('reset', 'rollover'))
                  OVER (PARTITION BY sid ORDER BY ts) AS seg
    FROM {n}_ev
),
-- The baseline is the highest reading of the segment so far, so a dip is not counted twice.
{n}_base AS (
    SELECT *, max(value) OVER (PARTITION BY sid, seg ORDER BY ts
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS base
    FROM {n}_seg
),
"""
# Without METER sources the register passes (two window sorts) are skipped.
_NO_REGISTER = """
{n}_base AS (
    SELECT *, CAST(NULL AS text) AS event, CAST(NULL AS float8) AS base FROM {n}_w
),
"""


def energy_ctes(
    name: str, width: BucketWidth, timescaledb: bool, param: str = "width", *, meters: bool = True
) -> str:
    """CTEs ending in `{name}(sid, start, pos, neg, covered_s, low, high, resets, rollovers,
    dips)`: per source series and bucket, the integral of the positive and negative parts (kWh,
    or the unit x h for HOLD), the integrated seconds, and the lowest and highest power (kW, or
    the held value for HOLD) of the intervals inside the bucket. Parameters: `:{name}_ids`,
    `_methods`, `_scales`, `_gaps`, `_res` (seconds), `_mods`, plus `:from`, `:to`, `:tz`,
    `:{param}`.
    `meters=False` leaves out the register passes when no source is a METER."""
    n = name
    res = "make_interval(secs => res_s)"
    held_end = f"least(ts + {res}, coalesce(tn, 'infinity'::timestamptz))"
    register_ctes = _REGISTER.format(n=n) if meters else _NO_REGISTER.format(n=n)
    first_bucket = bucket_expr(f"greatest(iv.t0, {_FROM})", width, timescaledb, param)
    first_end = bucket_end_expr(width, "b0", param)
    pieces_grid = grid_sql(
        width, timescaledb, lo=f"greatest(iv.t0, {_FROM})", hi=f"least(iv.t1, {_TO})", param=param
    )
    return f"""
{n}_src AS (
    SELECT * FROM unnest(CAST(:{n}_ids AS integer[]), CAST(:{n}_methods AS text[]),
                         CAST(:{n}_scales AS float8[]), CAST(:{n}_gaps AS float8[]),
                         CAST(:{n}_res AS float8[]), CAST(:{n}_mods AS float8[]))
        AS s(sid, method, scale, gap_s, res_s, modulus)
),
-- The samples in range plus the neighbour on each side, for intervals crossing the edges.
{n}_pts AS (
    SELECT s.sid, x.ts, x.value FROM {n}_src s CROSS JOIN LATERAL (
        (SELECT ts, value FROM samples WHERE series_id = s.sid AND ts < {_FROM}
         ORDER BY ts DESC LIMIT 1)
        UNION ALL
        (SELECT ts, value FROM samples
         WHERE series_id = s.sid AND ts >= {_FROM} AND ts < {_TO})
        UNION ALL
        (SELECT ts, value FROM samples WHERE series_id = s.sid AND ts >= {_TO}
         ORDER BY ts LIMIT 1)
    ) AS x
),
{n}_w AS (
    SELECT p.sid, s.method, s.scale, s.gap_s, s.res_s, s.modulus, p.ts, p.value,
           lag(p.ts) OVER w AS tp, lag(p.value) OVER w AS vp,
           lead(p.ts) OVER w AS tn, lead(p.value) OVER w AS vn
    FROM {n}_pts p JOIN {n}_src s USING (sid)
    WINDOW w AS (PARTITION BY p.sid ORDER BY p.ts)
),
{register_ctes}{n}_raw AS (
    SELECT sid, method, scale, event,
        CASE WHEN method = 'METER' THEN tp ELSE ts END AS t0,
        CASE WHEN method = 'METER' THEN ts
             WHEN method IN ('MEAN', 'ENERGY', 'HOLD') AND res_s IS NOT NULL THEN {held_end}
             ELSE tn END AS t1,
        CASE WHEN method = 'METER' THEN CASE event
                 WHEN 'reset' THEN value
                 WHEN 'rollover' THEN modulus - vp + value
                 ELSE greatest(value - base, 0) END
             ELSE value END AS va,
        CASE WHEN method = 'TRAPEZOIDAL' THEN vn ELSE NULL END AS vb,
        CASE WHEN method IN ('METER', 'ENERGY') OR res_s IS NOT NULL
                  AND method IN ('MEAN', 'HOLD') THEN true
             ELSE gap_s IS NULL OR {secs("tn - ts")} <= gap_s END AS valid
    FROM {n}_base
),
-- Interval ends in power units; amounts (ENERGY, METER) become their mean power.
{n}_iv AS (
    SELECT sid, event, t0, t1,
           greatest(a, 0) AS pos0, greatest(b, 0) AS pos1,
           greatest(-a, 0) AS neg0, greatest(-b, 0) AS neg1
    FROM (
        SELECT sid, event, t0, t1,
            CASE WHEN method IN ('METER', 'ENERGY')
                 THEN va * scale * 3600 / {secs("t1 - t0")} ELSE va * scale END AS a,
            CASE WHEN method IN ('METER', 'ENERGY')
                 THEN va * scale * 3600 / {secs("t1 - t0")}
                 ELSE coalesce(vb, va) * scale END AS b
        FROM {n}_raw
        WHERE valid AND t0 IS NOT NULL AND t1 IS NOT NULL AND t1 > t0
          AND va IS NOT NULL AND t1 > {_FROM} AND t0 < {_TO}
    ) AS x
),
-- Most intervals lie inside one bucket and stay whole; the others are cut at every bucket
-- edge (and at from/to), with the power interpolated at the cuts.
{n}_ivb AS (
    SELECT iv.*, {first_bucket} AS b0 FROM {n}_iv iv
),
{n}_ive AS (
    SELECT *, {first_end} AS e0 FROM {n}_ivb
),
{n}_cut AS (
    SELECT iv.sid, iv.event, iv.t0, iv.t1, iv.pos0, iv.pos1, iv.neg0, iv.neg1, iv.b0 AS bs,
           greatest(iv.t0, {_FROM}) AS a, least(iv.t1, {_TO}) AS b
    FROM {n}_ive iv WHERE iv.t1 <= iv.e0
    UNION ALL
    SELECT iv.sid, iv.event, iv.t0, iv.t1, iv.pos0, iv.pos1, iv.neg0, iv.neg1, g.bs, c.a, c.b
    FROM {n}_ive iv
    CROSS JOIN LATERAL ({pieces_grid}) AS g(bs)
    CROSS JOIN LATERAL (
        SELECT greatest(iv.t0, g.bs, {_FROM}) AS a,
               least(iv.t1, {bucket_end_expr(width, "g.bs", param)}, {_TO}) AS b
    ) AS c
    WHERE iv.t1 > iv.e0 AND c.a < c.b
),
{n}_pc AS (
    SELECT sid, event, t1, bs, a, b,
           pos0 + (pos1 - pos0) * {secs("a - t0")} / {secs("t1 - t0")} AS pa,
           pos0 + (pos1 - pos0) * {secs("b - t0")} / {secs("t1 - t0")} AS pb,
           neg0 + (neg1 - neg0) * {secs("a - t0")} / {secs("t1 - t0")} AS na,
           neg0 + (neg1 - neg0) * {secs("b - t0")} / {secs("t1 - t0")} AS nb
    FROM {n}_cut
),
{n} AS (
    SELECT sid, bs AS start,
           sum((pa + pb) / 2 * {secs("b - a")} / 3600) AS pos,
           sum((na + nb) / 2 * {secs("b - a")} / 3600) AS neg,
           sum({secs("b - a")}) AS covered_s,
           min(least(pa - na, pb - nb)) AS low, max(greatest(pa - na, pb - nb)) AS high,
           count(*) FILTER (WHERE event = 'reset' AND b = t1) AS resets,
           count(*) FILTER (WHERE event = 'rollover' AND b = t1) AS rollovers,
           count(*) FILTER (WHERE event = 'dip' AND b = t1) AS dips
    FROM {n}_pc GROUP BY sid, bs
)"""


def source_params(name: str, sources: Sequence[Source]) -> dict[str, Any]:
    def seconds(value: timedelta | None) -> float | None:
        return value.total_seconds() if value is not None else None

    return {
        f"{name}_ids": [s.series_id for s in sources],
        f"{name}_methods": [s.method.value for s in sources],
        f"{name}_scales": [s.scale for s in sources],
        f"{name}_gaps": [seconds(s.max_gap) for s in sources],
        f"{name}_res": [seconds(s.resolution) for s in sources],
        f"{name}_mods": [s.modulus for s in sources],
    }


@dataclass
class EnergyRows:
    """Per bucket (and the total at the end of each list: `total_*`)."""

    starts: list[datetime] = field(default_factory=list)
    ends: list[datetime] = field(default_factory=list)
    positive: list[float | None] = field(default_factory=list)
    negative: list[float | None] = field(default_factory=list)
    covered_s: list[float] = field(default_factory=list)
    length_s: list[float] = field(default_factory=list)
    resets: list[int] = field(default_factory=list)
    rollovers: list[int] = field(default_factory=list)
    dips: list[int] = field(default_factory=list)
    low: list[float | None] = field(default_factory=list)  # lowest power or held value
    high: list[float | None] = field(default_factory=list)  # highest power or held value


def energy_sql(width: BucketWidth, timescaledb: bool, *, meters: bool = True) -> str:
    """Energy of one source per bucket of [from, to), plus a total row (start NULL) last."""
    end = bucket_end_expr(width, "g.start")
    return f"""WITH {energy_ctes("e", width, timescaledb, meters=meters)},
grid AS ({grid_sql(width, timescaledb)}),
rows AS (
    SELECT g.start, {end} AS end_,
           {secs(f"least({end}, {_TO}) - greatest(g.start, {_FROM})")} AS length_s,
           e.pos, e.neg, coalesce(e.covered_s, 0) AS covered_s,
           coalesce(e.resets, 0) AS resets, coalesce(e.rollovers, 0) AS rollovers,
           coalesce(e.dips, 0) AS dips, e.low, e.high
    FROM grid g LEFT JOIN e ON e.start = g.start
)
SELECT start, max(end_), sum(pos), sum(neg), sum(covered_s), sum(length_s),
       sum(resets), sum(rollovers), sum(dips), min(low), max(high)
FROM rows GROUP BY ROLLUP (start) ORDER BY start NULLS LAST"""


def energy_statement(
    source: Source,
    *,
    start: datetime,
    end: datetime,
    width: BucketWidth,
    timezone: str,
    timescaledb: bool,
) -> tuple[str, dict[str, Any]]:
    """The energy statement for one source and its bind parameters (rendered in
    tests/db/sql/energy*.sql)."""
    sql = energy_sql(width, timescaledb, meters=source.method is Method.METER)
    params = bucket_params(width, start=start, end=end, timezone=timezone)
    params.update(source_params("e", [source]))
    return sql, params


async def fetch_energy(
    database: Database,
    source: Source,
    *,
    start: datetime,
    end: datetime,
    width: BucketWidth,
    timezone: str,
) -> tuple[EnergyRows, EnergyRows]:
    """(per bucket, total) for one source."""
    sql, params = energy_statement(
        source,
        start=start,
        end=end,
        width=width,
        timezone=timezone,
        timescaledb=database.capabilities.timescaledb,
    )
    buckets, total = split_total(await read_rows(database, sql, params), start, end)
    return _energy_rows(buckets), _energy_rows(total)


def _energy_rows(rows: Sequence[Sequence[Any]]) -> EnergyRows:
    out = EnergyRows()
    for row in rows:
        out.starts.append(row[0])
        out.ends.append(row[1])
        out.positive.append(row[2])
        out.negative.append(row[3])
        out.covered_s.append(float(row[4] or 0))
        out.length_s.append(float(row[5] or 0))
        out.resets.append(int(row[6] or 0))
        out.rollovers.append(int(row[7] or 0))
        out.dips.append(int(row[8] or 0))
        out.low.append(row[9])
        out.high.append(row[10])
    return out
