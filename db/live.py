"""Reads for live updates (docs/api.md, Subscriptions): which buckets a changed window
touches, so `aggregateUpdated` re-reads exactly those."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text

from db.aggregate import UTC_ZONES, bucket_end_expr, bucket_expr, bucket_params
from db.engine import Database
from db.intervals import BucketWidth

__all__ = ["bucket_span"]

_ONE_US = timedelta(microseconds=1)


async def bucket_span(
    database: Database, width: BucketWidth, timezone: str, start: datetime, end: datetime
) -> tuple[datetime, datetime]:
    """[start of the bucket holding `start`, end of the bucket holding the last instant
    before `end`): the buckets of `width` in `timezone` that a change in [start, end) can
    touch. Computed by the same expressions the aggregate statements use."""
    tsdb = database.capabilities.timescaledb
    utc = timezone in UTC_ZONES
    first = bucket_expr("CAST(:from AS timestamptz)", width, tsdb, utc=utc)
    last = bucket_expr("CAST(:last AS timestamptz)", width, tsdb, utc=utc)
    sql = f"SELECT {first}, {bucket_end_expr(width, start=last, utc=utc)}"
    params = bucket_params(width, start=start, end=end, timezone=timezone)
    params["last"] = end - _ONE_US
    async with database.connect() as conn:
        row = (await conn.execute(text(sql), params)).one()
    return row[0], row[1]
