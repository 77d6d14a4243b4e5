"""`Series.energy`: energy per bucket and in total, with coverage and register events."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from db import energy as db_energy
from db.durations import format_duration
from db.series import SeriesRecord
from resolvers import plausibility as rules
from resolvers.arguments import check_every, check_read_range, check_timezone
from resolvers.codes import UserErrorCode
from resolvers.context import Context
from resolvers.errors import InvalidArgument
from resolvers.kpi_types import KpiWarning
from resolvers.plausibility import coverage_warnings
from resolvers.scalars import DateTimeColumn, FloatColumn, IntColumn, NullableFloatColumn

__all__ = ["EnergyColumns", "EnergyTotal", "series_energy"]


@strawberry.type(description="Energy over the whole range [from, to).")
class EnergyTotal:
    kwh: float | None = strawberry.field(description="Net energy: positiveKwh - negativeKwh.")
    positive_kwh: float | None = strawberry.field(
        description="Integral of the positive part (e.g. grid import, battery discharge)."
    )
    negative_kwh: float | None = strawberry.field(
        description="Integral of the negative part (e.g. grid export, battery charge)."
    )
    coverage: float = strawberry.field(description="Integrated time / time in range, 0-1.")
    resets: int
    rollovers: int
    dips: int


@strawberry.type(
    description="Energy per bucket in kWh, one entry per bucket in the same order in every "
    "list; buckets without data have null energy and coverage 0."
)
class EnergyColumns:
    starts: list[datetime] = strawberry.field(graphql_type=DateTimeColumn)
    ends: list[datetime] = strawberry.field(graphql_type=DateTimeColumn)
    kwh: list[float | None] = strawberry.field(graphql_type=NullableFloatColumn)
    positive_kwh: list[float | None] = strawberry.field(graphql_type=NullableFloatColumn)
    negative_kwh: list[float | None] = strawberry.field(graphql_type=NullableFloatColumn)
    coverage: list[float] = strawberry.field(graphql_type=FloatColumn)
    resets: list[int] = strawberry.field(graphql_type=IntColumn)
    rollovers: list[int] = strawberry.field(graphql_type=IntColumn)
    dips: list[int] = strawberry.field(graphql_type=IntColumn)
    total: EnergyTotal
    method: str = strawberry.field(
        description="TRAPEZOIDAL, LEFT or MEAN (POWER), METER or ENERGY."
    )
    max_gap: str | None = strawberry.field(description="Gap limit applied (ISO-8601), if any.")
    warnings: list[KpiWarning]


def _net(pos: float | None, neg: float | None) -> float | None:
    if pos is None and neg is None:
        return None
    return (pos or 0.0) - (neg or 0.0)


def _coverage(covered: float, length: float) -> float:
    return covered / length if length > 0 else 0.0


def _event_warnings(resets: int, rollovers: int, dips: int) -> list[KpiWarning]:
    counts = (
        (rules.METER_RESET, resets),
        (rules.METER_ROLLOVER, rollovers),
        (rules.METER_DIP, dips),
    )
    return [
        rules.event(rule, f"register: {count} {rule.what}", value=float(count))
        for rule, count in counts
        if count
    ]


async def series_energy(
    record: SeriesRecord,
    info: Info[Context, None],
    start: datetime,
    end: datetime,
    every: str,
    timezone: str | None,
) -> EnergyColumns:
    check_read_range(start, end)
    width = check_every(every)
    zone = check_timezone(timezone or record.timezone)
    try:
        source = db_energy.source_for(record)
    except db_energy.UnsupportedSeries as exc:
        raise InvalidArgument(str(exc), code=UserErrorCode[exc.code]) from None
    ctx = info.context
    ctx.budget.spend(width.max_buckets(start, end), "energy")
    rows, total = await db_energy.fetch_energy(
        ctx.database, source, start=start, end=end, width=width, timezone=zone
    )
    coverage = [_coverage(c, n) for c, n in zip(rows.covered_s, rows.length_s, strict=True)]
    total_coverage = _coverage(total.covered_s[0], total.length_s[0])
    warnings = coverage_warnings(coverage, total_coverage, "energy")
    warnings += _event_warnings(total.resets[0], total.rollovers[0], total.dips[0])
    return EnergyColumns(
        starts=rows.starts,
        ends=rows.ends,
        kwh=[_net(p, n) for p, n in zip(rows.positive, rows.negative, strict=True)],
        positive_kwh=rows.positive,
        negative_kwh=rows.negative,
        coverage=coverage,
        resets=rows.resets,
        rollovers=rows.rollovers,
        dips=rows.dips,
        total=EnergyTotal(
            kwh=_net(total.positive[0], total.negative[0]),
            positive_kwh=total.positive[0],
            negative_kwh=total.negative[0],
            coverage=total_coverage,
            resets=total.resets[0],
            rollovers=total.rollovers[0],
            dips=total.dips[0],
        ),
        method=source.method.value,
        max_gap=format_duration(source.max_gap)
        if source.max_gap is not None and source.method.value in ("TRAPEZOIDAL", "LEFT")
        else None,
        warnings=warnings,
    )
