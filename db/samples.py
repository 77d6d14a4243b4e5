"""Raw samples: range reads, idempotent bulk writes (COPY -> staging -> upsert), deletes."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, repeat

from sqlalchemy import text

from db.engine import Database, driver_connection

__all__ = [
    "Conflict",
    "SampleBatch",
    "WriteCounts",
    "delete_samples",
    "read_samples",
    "write_samples",
]


class Conflict(enum.Enum):
    UPDATE = "UPDATE"  # last write wins; identical values are left untouched
    IGNORE = "IGNORE"  # keep what is stored


@dataclass(frozen=True)
class SampleBatch:
    series_id: int
    timestamps: Sequence[datetime]  # tz-aware, unique within the batch
    values: Sequence[float]  # finite


@dataclass(frozen=True)
class WriteCounts:
    inserted: int
    updated: int
    unchanged: int


_STAGING_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS ingest_staging "
    "(series_id integer NOT NULL, ts timestamptz NOT NULL, value float8 NOT NULL) "
    "ON COMMIT DELETE ROWS"
)
_UPSERT = """
WITH written AS (
    INSERT INTO samples AS t (series_id, ts, value)
    SELECT series_id, ts, value FROM ingest_staging
    ON CONFLICT (series_id, ts) DO UPDATE SET value = EXCLUDED.value
    WHERE t.value IS DISTINCT FROM EXCLUDED.value
    RETURNING (t.xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written
"""
_INSERT_IGNORE = """
INSERT INTO samples (series_id, ts, value)
SELECT series_id, ts, value FROM ingest_staging
ON CONFLICT (series_id, ts) DO NOTHING
"""


async def write_samples(
    database: Database, batches: Sequence[SampleBatch], conflict: Conflict
) -> WriteCounts:
    """Write all batches in one transaction: everything lands or nothing does."""
    total = sum(len(b.timestamps) for b in batches)
    if total == 0:
        return WriteCounts(0, 0, 0)
    records = chain.from_iterable(
        zip(repeat(b.series_id, len(b.timestamps)), b.timestamps, b.values, strict=True)
        for b in batches
    )
    async with database.connect() as conn:
        raw = await driver_connection(conn)
        # The raw connection's own transaction: SQLAlchemy starts its transaction lazily, so
        # statements sent on the driver connection would otherwise autocommit one by one.
        async with raw.transaction():
            await raw.execute(_STAGING_DDL)
            await raw.copy_records_to_table(
                "ingest_staging", records=records, columns=("series_id", "ts", "value")
            )
            if conflict is Conflict.UPDATE:
                row = await raw.fetchrow(_UPSERT)
                assert row is not None
                inserted, updated = int(row[0]), int(row[1])
            else:
                status = await raw.execute(_INSERT_IGNORE)
                inserted, updated = int(status.rsplit(" ", 1)[1]), 0
    return WriteCounts(inserted, updated, total - inserted - updated)


async def read_samples(
    database: Database, *, series_id: int, start: datetime, end: datetime, limit: int
) -> tuple[list[datetime], list[float]]:
    stmt = text(
        "SELECT ts, value FROM samples WHERE series_id = :sid AND ts >= :from AND ts < :to "
        "ORDER BY ts LIMIT :limit"
    )
    async with database.connect() as conn:
        rows = (
            await conn.execute(stmt, {"sid": series_id, "from": start, "to": end, "limit": limit})
        ).all()
    return [r[0] for r in rows], [r[1] for r in rows]


async def delete_samples(
    database: Database, *, series_id: int, start: datetime, end: datetime
) -> int:
    stmt = text("DELETE FROM samples WHERE series_id = :sid AND ts >= :from AND ts < :to")
    async with database.begin() as conn:
        result = await conn.execute(stmt, {"sid": series_id, "from": start, "to": end})
    return int(result.rowcount)
