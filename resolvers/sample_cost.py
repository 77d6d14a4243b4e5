"""Raw `samples` without a `limit`: what they may cost, known before they are read, and the
read that charges it (docs/limits.md, "Raw samples without a limit").

A series with a nominal resolution holds at most one sample per resolution step, so a range
holds at most `ceil(range / shortest step)` of them. The shortest step is the resolution with
calendar parts at their shortest: a month 28 days, a year 365 days, and one hour less when the
step has whole days, because a wall-clock day is 23 h on the day clocks go forward. Irregular
series (no resolution) have no such bound, and a nominal bound above the budget may be far
above what is stored (a sparse range): both count the stored samples instead, up to one past
the budget, so the count costs at most a budget's worth of index entries.

The estimate is reserved before the read; after it, the field is charged exactly the rows it
returns (fewer than the estimate give points back to the request, more, from a series denser
than its resolution, are charged too), and a read whose rows do not fit is refused whole. The
read fetches at most one row more than the field could be charged, so a refused read never
holds more than that in memory.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db import samples as db_samples
from db.durations import parse_iso_duration
from db.series import SeriesRecord
from resolvers.context import Context
from resolvers.errors import BudgetExceeded
from resolvers.types import SampleColumns

__all__ = ["all_samples", "nominal_points", "shortest_step"]

NARROW = "narrow the range, pass a `limit`, or ask for fewer series in one request"

_DST_SHIFT = timedelta(hours=1)


def shortest_step(resolution: str | None) -> timedelta | None:
    """The shortest time between two samples of a series with this `resolution`, or None
    when the series is irregular (or its resolution has no positive length)."""
    parsed = parse_iso_duration(resolution) if resolution and len(resolution) <= 32 else None
    if parsed is None:
        return None
    step = timedelta(
        days=parsed.years * 365 + parsed.months * 28 + parsed.weeks * 7 + parsed.days,
        hours=parsed.hours,
        minutes=parsed.minutes,
        seconds=parsed.seconds,
    )
    if parsed.years or parsed.months or parsed.weeks or parsed.days:
        step -= _DST_SHIFT
    return step if step > timedelta(0) else None


def nominal_points(resolution: str | None, start: datetime, end: datetime) -> int | None:
    """At most how many samples [start, end) holds at the nominal resolution; None when the
    series is irregular."""
    step = shortest_step(resolution)
    if step is None:
        return None
    # In UTC: Python subtracts datetimes sharing a zone by their wall clocks.
    elapsed = end.astimezone(UTC) - start.astimezone(UTC)
    return max(0, -(-elapsed // step))


async def all_samples(
    record: SeriesRecord, ctx: Context, start: datetime, end: datetime
) -> SampleColumns:
    """Every sample of `record` in [start, end), charged to the request's budget; refused with
    `BudgetExceeded` (and nothing returned) when they do not fit in what is left."""
    budget = ctx.budget
    what = f"samples of '{record.key}' from {start.isoformat()} to {end.isoformat()}"
    estimate = nominal_points(record.resolution, start, end)
    if estimate is None or estimate > budget.remaining + budget.held:
        cap = budget.remaining + budget.held + 1
        estimate = await db_samples.count_samples(
            ctx.database, series_id=record.id, start=start, end=end, cap=cap
        )
        if estimate >= cap:
            raise BudgetExceeded(
                f"{what}: more than the {cap - 1} points left in this request's budget (of "
                f"{ctx.limits.max_request_points}) are stored; {NARROW}"
            )
    await budget.reserve(estimate, what, narrow=NARROW)
    # The most this field could be charged: what is neither spent nor returned by others.
    most = budget.remaining + budget.held
    try:
        timestamps, values = await db_samples.read_samples(
            ctx.database, series_id=record.id, start=start, end=end, limit=most + 1
        )
    finally:
        budget.settle(estimate, 0)
    found = len(timestamps)
    if found > most:
        raise BudgetExceeded(
            f"{what}: more samples are stored than the {most} points left in this request's "
            f"budget (of {ctx.limits.max_request_points}); {NARROW}"
        )
    # Charge exactly what is returned, waiting for siblings' estimates to settle if need be.
    await budget.reserve(found, what, narrow=NARROW, prepaid=estimate)
    budget.settle(found, found)
    return SampleColumns(timestamps=timestamps, values=values, truncated=False)
