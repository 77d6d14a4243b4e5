"""Raw samples: range reads, bulk writes in PostgreSQL's binary COPY format, deletes.

Writes never build a Python object per point: the columns arrive as numpy arrays and become
one binary COPY buffer (34 bytes a row) with a few vectorised operations. Idempotent writes
go COPY -> temp staging table -> `INSERT ... ON CONFLICT`; new-rows-only writes COPY straight
into `samples`, which is 2-3x faster because PostgreSQL skips the conflict machinery.
"""

from __future__ import annotations

import enum
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import asyncpg
import numpy as np
import numpy.typing as npt
from sqlalchemy import text

from db import audit, changes, rollups, tenancy
from db.engine import Database, driver_connection

__all__ = [
    "Conflict",
    "SampleBatch",
    "STAGING_DDL",
    "SamplesExist",
    "WriteCounts",
    "copy_buffer",
    "count_samples",
    "delete_samples",
    "micros_from_datetimes",
    "read_samples",
    "write_samples",
    "written_windows",
]

_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
# PostgreSQL's binary timestamptz counts microseconds from 2000-01-01 UTC.
_PG_EPOCH_OFFSET_US = 946_684_800_000_000


class Conflict(enum.Enum):
    UPDATE = "UPDATE"  # last write wins; identical values are left untouched
    IGNORE = "IGNORE"  # keep what is stored
    ERROR = "ERROR"  # new rows only: plain COPY, a stored timestamp aborts the write


@dataclass(frozen=True)
class SampleBatch:
    series_id: int
    micros: npt.NDArray[np.int64]  # microseconds since the Unix epoch, unique within the batch
    values: npt.NDArray[np.float64]  # finite, same length


@dataclass(frozen=True)
class WriteCounts:
    inserted: int
    updated: int
    unchanged: int


class SamplesExist(Exception):
    """An ERROR-mode write met a stored (series_id, ts); nothing was written."""

    def __init__(self, series_id: int | None, detail: str, ts: datetime | None = None) -> None:
        super().__init__(detail)
        self.series_id = series_id
        self.ts = ts  # the stored timestamp met, when the server's message names it


def micros_from_datetimes(timestamps: Sequence[datetime]) -> npt.NDArray[np.int64]:
    """Aware datetimes -> int64 microseconds since the Unix epoch (exact, no float rounding)."""
    return np.fromiter(
        ((t - _UNIX_EPOCH) // _ONE_US for t in timestamps), dtype=np.int64, count=len(timestamps)
    )


_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("sid_len", ">i4"),
        ("sid", ">i4"),
        ("ts_len", ">i4"),
        ("ts", ">i8"),
        ("value_len", ">i4"),
        ("value", ">f8"),
    ]
)
_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_TRAILER = (-1).to_bytes(2, "big", signed=True)


def copy_buffer(batches: Sequence[SampleBatch]) -> bytes:
    """`(series_id int4, ts timestamptz, value float8)` rows in PostgreSQL binary COPY format."""
    rows = np.empty(sum(len(b.micros) for b in batches), dtype=_ROW)
    rows["fields"] = 3
    rows["sid_len"] = 4
    rows["ts_len"] = 8
    rows["value_len"] = 8
    at = 0
    for batch in batches:
        end = at + len(batch.micros)
        rows["sid"][at:end] = batch.series_id
        rows["ts"][at:end] = batch.micros - _PG_EPOCH_OFFSET_US
        rows["value"][at:end] = batch.values
        at = end
    return _HEADER + rows.tobytes() + _TRAILER


async def _chunks(buffer: bytes, size: int = 1 << 20) -> AsyncIterator[memoryview]:
    view = memoryview(buffer)
    for at in range(0, len(view), size):
        yield view[at : at + size]


_COLUMNS = ("series_id", "ts", "value")
STAGING_DDL = (
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
_INSERT_NEW = (
    "INSERT INTO samples (series_id, ts, value) SELECT series_id, ts, value FROM ingest_staging"
)
_KEY_DETAIL = re.compile(r"\(series_id, ts\)=\((\d+), ([^)]+)\)")


def _stored_ts(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _written(batches: Sequence[SampleBatch]) -> list[rollups.Written]:
    """Each batch's series and the window its points span."""
    return [
        rollups.Written(
            b.series_id,
            _UNIX_EPOCH + int(b.micros.min()) * _ONE_US,
            _UNIX_EPOCH + (int(b.micros.max()) + 1) * _ONE_US,
        )
        for b in batches
        if len(b.micros)
    ]


def written_windows(batches: Sequence[SampleBatch]) -> list[rollups.Written]:
    """The (series, window) pairs a write of `batches` may change (for the result cache)."""
    return _written(batches)


async def write_samples(
    database: Database, batches: Sequence[SampleBatch], conflict: Conflict
) -> WriteCounts:
    """Write all batches in one transaction: everything lands or nothing does. A write that
    changes rows announces its windows on the change feed when it commits (db.changes)."""
    total = sum(len(b.micros) for b in batches)
    if total == 0:
        return WriteCounts(0, 0, 0)
    buffer = copy_buffer(batches)
    # The ingest pool: a backfill waits for its own connections, never for a reader's.
    async with database.ingest.connect() as conn:
        raw = await driver_connection(conn)
        # The raw connection's own transaction: SQLAlchemy starts its transaction lazily, so
        # statements sent on the driver connection would otherwise autocommit one by one.
        async with raw.transaction():
            if conflict is Conflict.ERROR:
                try:
                    if tenancy.request_scope() is None:
                        await raw.copy_to_table(
                            "samples", source=_chunks(buffer), columns=_COLUMNS, format="binary"
                        )
                    else:
                        # PostgreSQL refuses COPY FROM into a table with row-level security
                        # for a role it binds (requests, migration 0081): stage, then INSERT.
                        await raw.execute(STAGING_DDL)
                        await raw.copy_to_table(
                            "ingest_staging", source=_chunks(buffer), columns=_COLUMNS,
                            format="binary",
                        )  # fmt: skip
                        await _insert_new_naming_a_clash(raw)
                except asyncpg.UniqueViolationError as exc:
                    detail = str(getattr(exc, "detail", None) or exc)
                    match = _KEY_DETAIL.search(detail)
                    if match is None:
                        raise SamplesExist(None, detail) from None
                    raise SamplesExist(int(match[1]), detail, _stored_ts(match[2])) from None
                inserted, updated = total, 0
            else:
                await raw.execute(STAGING_DDL)
                await raw.copy_to_table(
                    "ingest_staging", source=_chunks(buffer), columns=_COLUMNS, format="binary"
                )
                if conflict is Conflict.UPDATE:
                    row = await raw.fetchrow(_UPSERT)
                    assert row is not None
                    inserted, updated = int(row[0]), int(row[1])
                else:
                    status = await raw.execute(_INSERT_IGNORE)
                    inserted, updated = int(status.rsplit(" ", 1)[1]), 0
            if inserted + updated:
                written = _written(batches)
                # Delivered to listeners when this transaction commits (db.changes).
                await changes.announce(
                    raw,
                    changes.ChangeKind.INGEST,
                    [changes.window_ms(w.series_id, w.start, w.end) for w in written],
                )
                if database.capabilities.rollups:
                    await rollups.record_pending(raw, written)
        if database.capabilities.rollups and inserted + updated:
            await _refresh_as_login_role(raw)
    return WriteCounts(inserted, updated, total - inserted - updated)


async def read_samples(
    database: Database, *, series_id: int, start: datetime, end: datetime, limit: int
) -> tuple[list[datetime], list[float]]:
    async with database.acquire() as raw:
        rows = await raw.fetch(
            "SELECT ts, value FROM samples WHERE series_id = $1 AND ts >= $2 AND ts < $3 "
            "ORDER BY ts LIMIT $4",
            series_id,
            start,
            end,
            limit,
        )
    return [r[0] for r in rows], [r[1] for r in rows]


async def delete_samples(
    database: Database,
    *,
    series_id: int,
    start: datetime,
    end: datetime,
    audit_entry: audit.AuditEntry,
) -> int:
    """Delete [start, end) of a series. `audit_entry` is recorded, with the number of rows
    deleted, in the same transaction: nothing is deleted without its audit record. With
    rollups, the window is marked pending in that transaction too and refreshed after it; the
    change feed hears of it when it commits (db.changes)."""
    stmt = text("DELETE FROM samples WHERE series_id = :sid AND ts >= :from AND ts < :to")
    async with database.ingest.begin() as conn:
        result = await conn.execute(stmt, {"sid": series_id, "from": start, "to": end})
        deleted = int(result.rowcount)
        if deleted:
            raw = await driver_connection(conn)
            window = changes.window_ms(series_id, start, end)
            await changes.announce(raw, changes.ChangeKind.DELETE, [window])
            if database.capabilities.rollups:
                await rollups.record_pending(raw, [rollups.Written(series_id, start, end)])
        details = {**audit_entry.details, "deleted": deleted}
        event = await audit.record(conn, replace(audit_entry, details=details))
    audit.log_event(event)
    if database.capabilities.rollups and deleted:
        async with database.ingest.connect() as conn:
            await _refresh_as_login_role(await driver_connection(conn))
    return deleted


async def count_samples(
    database: Database, *, series_id: int, start: datetime, end: datetime, cap: int
) -> int:
    """Stored samples of a series in [start, end), counted up to `cap` (an index-only walk of
    at most `cap` entries of the primary key, so the cost is bounded whatever the range)."""
    async with database.connect() as conn:
        raw = await driver_connection(conn)
        count = await raw.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM samples WHERE series_id = $1 AND ts >= $2 "
            "AND ts < $3 LIMIT $4) AS bounded",
            series_id,
            start,
            end,
            cap,
        )
    return int(count)


async def _refresh_as_login_role(raw: asyncpg.Connection) -> None:
    """Rollup maintenance is platform work: refreshing a continuous aggregate needs its owner,
    not the tenant role a request runs as (db/engine.py); the session's role is restored."""
    role = await raw.fetchval("SELECT current_setting('role')")
    if role == "none":
        await rollups.refresh_pending(raw)
        return
    await raw.execute("RESET ROLE")
    try:
        await rollups.refresh_pending(raw)
    finally:
        if not raw.is_closed():
            await raw.execute("SELECT set_config('role', $1, false)", role)


async def _insert_new_naming_a_clash(raw: asyncpg.Connection) -> None:
    """`_INSERT_NEW` under row-level security, where PostgreSQL leaves the key out of a unique
    violation's detail: on a clash, look up one stored row the staged ones collide with (in a
    savepoint, so the transaction can still read) and name it like the detail would."""
    try:
        async with raw.transaction():
            await raw.execute(_INSERT_NEW)
    except asyncpg.UniqueViolationError as exc:
        clash = await raw.fetchrow(
            "SELECT s.series_id, s.ts FROM ingest_staging s JOIN samples USING (series_id, ts) "
            "LIMIT 1"
        )
        if clash is None:  # the batch repeats a timestamp of its own
            raise
        raise SamplesExist(clash["series_id"], str(exc), clash["ts"]) from None
