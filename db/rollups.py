"""TimescaleDB continuous aggregates ("rollups") of `samples`, and when a query may use them.

Migration 0020 creates them where TimescaleDB is present: hourly buckets in UTC, and daily
buckets in UTC and in Europe/Berlin (the zone of the German market data). Each keeps per
series and bucket `sum, count, min, max, first, last`, from which every aggregate of a
coarser bucket follows exactly (avg = sum / count; first/last by bucket order).

Completeness: the views are real-time (`materialized_only = false`), so TimescaleDB unions
the raw rows above the materialisation watermark itself. Below the watermark a write only
marks the range invalid; `refresh_window` (called after every ingest/delete that changed
rows) re-materialises the written range at once, so reads do not see stale buckets. The one
exception: if that refresh fails in PostgreSQL (a bucket whose float8 sum overflows, values
near 1e308), the committed write is still reported as written, the failure is logged, and
the window's rollup rows stay stale until the background policy refreshes it.
Routing is exact or nothing: a rollup is used only when every rollup bucket it reads lies
wholly inside `[from, to)` and inside one requested bucket; otherwise the raw path runs.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from db.intervals import BucketWidth

__all__ = ["ROLLUPS", "Rollup", "agg_sql", "choose_rollup", "refresh_window", "same_grain"]

_HOUR = timedelta(hours=1)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rollup:
    view: str
    grain: timedelta  # 1 hour or 1 day
    zone: str  # day boundaries follow this zone's wall clock; hourly ones are UTC hours

    @property
    def daily(self) -> bool:
        return self.grain > _HOUR


ROLLUPS = (
    Rollup("samples_1h", _HOUR, "UTC"),
    Rollup("samples_1d_utc", timedelta(days=1), "UTC"),
    Rollup("samples_1d_berlin", timedelta(days=1), "Europe/Berlin"),
)


@functools.lru_cache(maxsize=512)
def _whole_hour_offsets(zone: str, year: int) -> bool:
    """True if every UTC offset of `zone` in `year` is whole hours (so UTC hours nest in
    local days); checked at every day and around each offset change."""
    tz = ZoneInfo(zone)
    day = datetime(year, 1, 1, tzinfo=UTC)
    while day.year == year:
        for probe in (day, day + timedelta(hours=12)):
            offset = probe.astimezone(tz).utcoffset()
            if offset is None or offset % _HOUR:
                return False
        day += timedelta(days=1)
    return True


def _hour_aligned(t: datetime) -> bool:
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0) == t


def _local_midnight(t: datetime, zone: str) -> bool:
    local = t.astimezone(ZoneInfo(zone))
    return (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)


def choose_rollup(
    available: Collection[str], width: BucketWidth, zone: str, start: datetime, end: datetime
) -> Rollup | None:
    """The coarsest rollup that answers this query exactly, or None for the raw path."""
    years = range(start.astimezone(UTC).year - 1, end.astimezone(UTC).year + 2)
    for rollup in sorted(ROLLUPS, key=lambda r: r.grain, reverse=True):
        if rollup.view not in available:
            continue
        if rollup.daily:
            # Local days nest in every calendar bucket of the same zone.
            if width.is_calendar and rollup.zone == zone:
                if _local_midnight(start, zone) and _local_midnight(end, zone):
                    return rollup
            continue
        if not (_hour_aligned(start) and _hour_aligned(end)):
            continue
        if width.fixed is not None:
            # date_bin steps from local midnight 2000-01-03; whole hours from a whole-hour
            # origin keep every bucket edge on a UTC hour.
            offset = datetime(2000, 1, 3).replace(tzinfo=ZoneInfo(zone)).utcoffset()
            whole = offset is not None and not width.fixed % _HOUR and not offset % _HOUR
        else:
            whole = all(_whole_hour_offsets(zone, y) for y in years)
        if whole:
            return rollup
    return None


def same_grain(rollup: Rollup, width: BucketWidth) -> bool:
    """The requested buckets are the rollup's own (one rollup row per bucket)."""
    if rollup.daily:
        return width.iso == "P1D"
    return width.fixed == _HOUR


def agg_sql(rollup: Rollup, bucket: str | None, names: Iterable[str], *, many: bool = False) -> str:
    """The per-bucket aggregate over a rollup; `bucket` groups the rollup's `bucket` column
    into the requested buckets, None reads the rollup's own buckets as they are. Same
    columns, in the same order, as the raw statement."""
    if bucket is None:  # no regrouping: skips a time-zone conversion and a hash per row
        exprs = {
            "avg": "r.sum / r.count",
            "count": "r.count::bigint",
            **{n: f"r.{n}" for n in ("min", "max", "sum", "first", "last")},
        }
        start, group = "r.bucket", ""
    else:
        exprs = {
            "avg": "sum(r.sum) / sum(r.count)",
            "min": "min(r.min)",
            "max": "max(r.max)",
            "sum": "sum(r.sum)",
            "count": "sum(r.count)::bigint",
            "first": "first(r.first, r.bucket)",
            "last": "last(r.last, r.bucket)",
        }
        start, group = bucket, " GROUP BY 1, 2" if many else " GROUP BY 1"
    cols = "".join(f", {exprs[n]} AS {n}" for n in names)
    if many:  # several series at once, as `series_id, start, ...`
        return (
            f"SELECT r.series_id, {start} AS start{cols} FROM {rollup.view} r "
            "WHERE r.series_id = ANY(CAST(:sids AS integer[])) "
            f"AND r.bucket >= :from AND r.bucket < :to{group}"
        )
    return (
        f"SELECT {start} AS start{cols} FROM {rollup.view} r "
        f"WHERE r.series_id = :sid AND r.bucket >= :from AND r.bucket < :to{group}"
    )


# The watermark is -infinity-like (4714 BC) before the first refresh; compare in SQL.
_REFRESH_END = """
SELECT least($3::timestamptz, w.mark)
FROM _timescaledb_catalog.continuous_agg c,
     LATERAL _timescaledb_functions.to_timestamp(
         _timescaledb_functions.cagg_watermark(c.mat_hypertable_id)) AS w(mark)
WHERE c.user_view_schema = current_schema() AND c.user_view_name = $1 AND w.mark > $2
"""


async def refresh_window(
    conn: asyncpg.Connection, available: Collection[str], start: datetime, end: datetime
) -> None:
    """Re-materialise the buckets of [start, end) that lie below each rollup's watermark.
    Must run outside a transaction block (a TimescaleDB rule), i.e. after the write commits.
    Above the watermark nothing is needed: the real-time view reads those raw rows."""
    # One day of margin on both sides covers the day buckets of any zone around the window.
    lo = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    lo -= timedelta(days=1)
    hi = end.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    hi += timedelta(days=2)
    for rollup in ROLLUPS:
        if rollup.view not in available:
            continue
        until = await conn.fetchval(_REFRESH_END, rollup.view, lo, hi)
        if until is None:
            continue
        try:
            await conn.execute(
                "CALL refresh_continuous_aggregate($1::regclass, $2::timestamptz, $3::timestamptz)",
                rollup.view,
                lo,
                until,
            )
        except asyncpg.PostgresError as exc:
            # The write has committed and must be reported as such. A refresh fails e.g. when
            # a bucket's float8 sum overflows (values near 1e308); the window stays
            # invalidated and the background policy retries it.
            log.warning("rollup refresh of %s failed for [%s, %s): %s", rollup.view, lo, until, exc)
