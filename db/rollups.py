"""TimescaleDB continuous aggregates ("rollups") of `samples`, and when a query may use them.

Migration 0020 creates them where TimescaleDB is present: hourly buckets in UTC, and daily
buckets in UTC and in Europe/Berlin (the zone of the German market data). Each keeps per
series and bucket `sum, count, min, max, first, last`, from which every aggregate of a
coarser bucket follows exactly (avg = sum / count; first/last by bucket order).

A rollup is a cache and never answers stale (docs/timescaledb.md, migration 0040): every
write that changes rows records its (series, window) in `rollup_pending` in the same
transaction, and a read whose series and window overlap a pending row runs on the raw rows
instead, decided in the read's own statement (`guarded`). After its commit the
writer re-materialises the pending windows (forced refresh, serialised by an advisory lock;
if another session holds it, that one takes them on) and only then are they deleted; a
refresh that fails leaves them for the scheduled maintenance job, and reads stay raw until
then.
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

__all__ = [
    "ROLLUPS",
    "Rollup",
    "Written",
    "agg_sql",
    "choose_rollup",
    "guarded",
    "record_pending",
    "refresh_pending",
    "same_grain",
]

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


def agg_sql(
    rollup: Rollup,
    bucket: str | None,
    names: Iterable[str],
    *,
    many: bool = False,
) -> str:
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


def guarded(sql: str, columns: int, *, many: bool) -> str:
    """`sql` (a read of a rollup) that answers only while no write to its series (`:sid` or
    `:sids`) in [`:from`, `:to`) awaits its refresh; otherwise it returns one row of NULLs
    instead, and the caller runs the raw statement. One statement, so the check and the
    read share one snapshot: the answer is never a mix of before and after a write. The
    check is a constant filter, evaluated once; a false one skips the read."""
    sids = "CAST(:sids AS integer[])" if many else "ARRAY[CAST(:sid AS integer)]"
    nulls = ", ".join(["NULL"] * columns)
    return (
        "WITH pending AS MATERIALIZED "
        f"(SELECT rollup_pending_overlaps({sids}, :from, :to) AS yes) "
        f"SELECT * FROM ({sql}) cached WHERE NOT (SELECT yes FROM pending) "
        f"UNION ALL SELECT {nulls} FROM pending WHERE yes"
    )


_RECORD = (
    "INSERT INTO rollup_pending (series_id, lo, hi) "
    "SELECT * FROM unnest($1::integer[], $2::timestamptz[], $3::timestamptz[])"
)
# Never waits: if another refresh holds the lock, that holder picks these windows up when it
# looks again after unlocking (migration 0040).
_REFRESH = "CALL rollup_refresh_pending(false)"


@dataclass(frozen=True)
class Written:
    """A committed change to one series' rows within [start, end)."""

    series_id: int
    start: datetime
    end: datetime


async def record_pending(conn: asyncpg.Connection, written: Iterable[Written]) -> None:
    """Mark the windows pending; must run in the transaction that writes the rows."""
    rows = list(written)
    await conn.execute(
        _RECORD, [w.series_id for w in rows], [w.start for w in rows], [w.end for w in rows]
    )


async def refresh_pending(conn: asyncpg.Connection) -> None:
    """Re-materialise every pending window and forget it. Must run outside a transaction
    block (a TimescaleDB rule), i.e. after the write commits. Never raises for a failed
    refresh: the write has committed and is reported as such; its window stays pending
    (read raw) until the maintenance job's retry succeeds."""
    try:
        await conn.execute(_REFRESH)
    except asyncpg.PostgresError as exc:
        # A bucket whose float8 sum overflows (values near 1e308) fails for good; the job
        # retries every minute, and reads of the window stay raw meanwhile.
        log.warning("rollup refresh left to the maintenance job: %s", exc)
        # The procedure holds a session-level lock that its error did not release.
        await conn.execute("SELECT pg_advisory_unlock_all()")
    except BaseException:
        # Cancelled or the connection failed mid-call: the lock may still be held by this
        # session, which would stall every later refresh; closing the session releases it.
        conn.terminate()
        raise
