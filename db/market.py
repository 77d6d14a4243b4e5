"""Market data read from the SMARD scraper's series: time-weighted prices and the grid's
generation-weighted CO2 intensity (docs/domain.md §4), both computed in PostgreSQL.

Series keys follow the scraper: `smard:{filter}:{region}:{resolution}`, prices in EUR/MWh,
generation in MWh per interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from db.aggregate import bucket_end_expr, bucket_params, grid_sql, read_rows, split_total
from db.energy import Source, energy_ctes, secs, source_params
from db.engine import Database
from db.intervals import BucketWidth
from db.tables import emission_factors

__all__ = [
    "Factor",
    "IntensityRows",
    "fetch_factors",
    "fetch_intensity",
    "intensity_ctes",
    "intensity_params",
    "intensity_statement",
    "smard_key",
]

PRICE_FILTER = 4169  # day-ahead price DE-LU


def smard_key(filter_id: int, region: str, resolution: str) -> str:
    return f"smard:{filter_id}:{region}:{resolution}"


@dataclass(frozen=True)
class Factor:
    filter: int
    fuel: str
    g_per_kwh: float


async def fetch_factors(database: Database, family: str) -> list[Factor]:
    t = emission_factors
    stmt = select(t.c.filter, t.c.fuel, t.c.g_per_kwh).where(t.c.family == family)
    async with database.connect() as conn:
        rows = (await conn.execute(stmt.order_by(t.c.filter))).all()
    return [Factor(r[0], r[1], r[2]) for r in rows]


def intensity_ctes(name: str, width: BucketWidth, timescaledb: bool, param: str = "width") -> str:
    """CTEs ending in `{name}(start, co2_g, gen_kwh, covered_s)`: generation and its CO2 per
    bucket over all fuel series; `covered_s` is the least covered fuel, 0 if one is absent.
    Parameters: those of `energy_ctes("{name}_e")` plus `:{name}_efs` (g/kWh per series, same
    order) and `:{name}_nf` (number of series)."""
    n = name
    return f"""{energy_ctes(f"{n}_e", width, timescaledb, param, meters=False)},
{n}_fac AS (
    SELECT * FROM unnest(CAST(:{n}_e_ids AS integer[]), CAST(:{n}_efs AS float8[]))
        AS fac(sid, ef)
),
{n} AS (
    SELECT start, sum((pos - neg) * ef) AS co2_g, sum(pos - neg) AS gen_kwh,
           CASE WHEN count(*) = :{n}_nf THEN min(covered_s) ELSE 0 END AS covered_s
    FROM {n}_e JOIN {n}_fac USING (sid) GROUP BY start
)"""


def intensity_params(name: str, sources: Sequence[tuple[Source, float]]) -> dict[str, Any]:
    params = source_params(f"{name}_e", [s for s, _ in sources])
    params[f"{name}_efs"] = [ef for _, ef in sources]
    params[f"{name}_nf"] = len(sources)
    return params


@dataclass
class IntensityRows:
    starts: list[datetime] = field(default_factory=list)
    ends: list[datetime] = field(default_factory=list)
    intensity: list[float | None] = field(default_factory=list)  # g/kWh
    generation_kwh: list[float | None] = field(default_factory=list)
    covered_s: list[float] = field(default_factory=list)
    length_s: list[float] = field(default_factory=list)


def _intensity_sql(width: BucketWidth, timescaledb: bool) -> str:
    end = bucket_end_expr(width, "g.start")
    return f"""WITH {intensity_ctes("ci", width, timescaledb)},
grid AS ({grid_sql(width, timescaledb)}),
rows AS (
    SELECT g.start, {end} AS end_,
           {secs(f"least({end}, CAST(:to AS timestamptz)) - greatest(g.start, CAST(:from AS timestamptz))")} AS length_s,
           ci.co2_g, ci.gen_kwh, coalesce(ci.covered_s, 0) AS covered_s
    FROM grid g LEFT JOIN ci ON ci.start = g.start
)
SELECT start, max(end_), sum(co2_g) / nullif(sum(gen_kwh), 0), sum(gen_kwh),
       sum(covered_s), sum(length_s)
FROM rows GROUP BY ROLLUP (start) ORDER BY start NULLS LAST"""  # noqa: E501


def intensity_statement(
    sources: Sequence[tuple[Source, float]],
    *,
    start: datetime,
    end: datetime,
    width: BucketWidth,
    timezone: str,
    timescaledb: bool,
) -> tuple[str, dict[str, Any]]:
    """The grid-intensity statement and its bind parameters (rendered in
    tests/db/sql/intensity*.sql)."""
    params = bucket_params(width, start=start, end=end, timezone=timezone)
    params.update(intensity_params("ci", sources))
    return _intensity_sql(width, timescaledb), params


async def fetch_intensity(
    database: Database,
    sources: Sequence[tuple[Source, float]],
    *,
    start: datetime,
    end: datetime,
    width: BucketWidth,
    timezone: str,
) -> tuple[IntensityRows, IntensityRows]:
    """(per bucket, total): generation-weighted intensity `sum(Gen*EF) / sum(Gen)`."""
    sql, params = intensity_statement(
        sources,
        start=start,
        end=end,
        width=width,
        timezone=timezone,
        timescaledb=database.capabilities.timescaledb,
    )
    buckets, total = split_total(await read_rows(database, sql, params), start, end)
    return _intensity_rows(buckets), _intensity_rows(total)


def _intensity_rows(rows: Sequence[Sequence[Any]]) -> IntensityRows:
    out = IntensityRows()
    for row in rows:
        out.starts.append(row[0])
        out.ends.append(row[1])
        out.intensity.append(row[2])
        out.generation_kwh.append(row[3])
        out.covered_s.append(float(row[4] or 0))
        out.length_s.append(float(row[5] or 0))
    return out
