"""Series metadata: upsert, lookups by key or id, filtered keyset listing, time extents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import Row, func, select, text
from sqlalchemy.dialects.postgresql import insert

from db import tenancy
from db.engine import Database
from db.tables import series

__all__ = [
    "SeriesFilter",
    "SeriesRecord",
    "SeriesValues",
    "fetch_extents",
    "fetch_series_by_keys",
    "list_series",
    "upsert_series",
]


@dataclass(frozen=True, kw_only=True)
class SeriesRecord:
    id: int
    key: str
    name: str
    kind: str
    unit: str
    timezone: str
    resolution: str | None
    labels: dict[str, Any]
    source: str | None
    integration: str | None = None  # TRAPEZOIDAL | LEFT | MEAN; None = default (db/energy.py)
    max_gap: timedelta | None = None
    meter_modulus: float | None = None
    tenant: str | None = None  # None: platform-owned (db/tenancy.py)

    @classmethod
    def from_row(cls, row: Row[Any] | asyncpg.Record) -> SeriesRecord:
        m = row._mapping if isinstance(row, Row) else row
        return cls(
            id=m["id"],
            key=m["key"],
            name=m["name"],
            kind=m["kind"],
            unit=m["unit"],
            timezone=m["timezone"],
            resolution=m["resolution"],
            labels=m["labels"],
            source=m["source"],
            integration=m["integration"],
            max_gap=m["max_gap"],
            meter_modulus=m["meter_modulus"],
            tenant=m["tenant"],
        )


@dataclass(frozen=True, kw_only=True)
class SeriesValues:
    """Fields of an upsert. `None` on update means "keep the stored value"."""

    key: str
    kind: str
    unit: str
    name: str | None = None
    timezone: str | None = None
    resolution: str | None = None
    labels: Mapping[str, Any] | None = None
    source: str | None = None
    integration: str | None = None
    max_gap: timedelta | None = None
    meter_modulus: float | None = None


@dataclass(frozen=True, kw_only=True)
class SeriesFilter:
    kinds: Sequence[str] | None = None
    source: str | None = None
    key_prefix: str | None = None
    labels: Mapping[str, Any] | None = None  # containment: every given label must match


_COLUMNS = [
    series.c.id,
    series.c.key,
    series.c.name,
    series.c.kind,
    series.c.unit,
    series.c.timezone,
    series.c.resolution,
    series.c.labels,
    series.c.source,
    series.c.integration,
    series.c.max_gap,
    series.c.meter_modulus,
    series.c.tenant,
]


async def upsert_series(database: Database, values: SeriesValues) -> SeriesRecord:
    """Create or update the current tenant's series with this key (db/tenancy.py)."""
    stmt = insert(series).values(
        key=values.key,
        tenant=tenancy.current().tenant,
        name=values.name if values.name is not None else values.key,
        kind=values.kind,
        unit=values.unit,
        timezone=values.timezone or "UTC",
        resolution=values.resolution,
        labels=dict(values.labels or {}),
        source=values.source,
        integration=values.integration,
        max_gap=values.max_gap,
        meter_modulus=values.meter_modulus,
    )
    excluded = stmt.excluded
    updates: dict[str, Any] = {
        "kind": excluded.kind,
        "unit": excluded.unit,
        "updated_at": func.now(),
    }
    # Optional fields left out of the input keep their stored value.
    for field in (
        "name", "timezone", "resolution", "labels", "source",
        "integration", "max_gap", "meter_modulus",
    ):  # fmt: skip
        if getattr(values, field) is not None:
            updates[field] = getattr(excluded, field)
    upsert = stmt.on_conflict_do_update(
        index_elements=[series.c.key, series.c.tenant], set_=updates
    ).returning(*_COLUMNS)
    async with database.begin() as conn:
        row = (await conn.execute(upsert)).one()
    return SeriesRecord.from_row(row)


# The lookup every series read starts with: sent as is on asyncpg, which prepares it once per
# connection (its statement cache) instead of SQLAlchemy compiling and wrapping it per request.
_BY_KEYS = f"SELECT {', '.join(c.name for c in _COLUMNS)} FROM series WHERE key = ANY($1::text[])"


async def fetch_series_by_keys(database: Database, keys: Sequence[str]) -> list[SeriesRecord]:
    # The tenant predicate of `tenancy.readable`, as text for the prepared statement; platform
    # rows first, so a tenant's own series wins also when only row-level security filters
    # (tests switch the application filter off).
    predicate = tenancy.readable_sql("series", tenant="$2")
    sql = f"{_BY_KEYS} AND {predicate} ORDER BY series.tenant NULLS FIRST"
    args: list[object] = [list(keys)]
    if "$2" in predicate:
        args.append(tenancy.tenant_param())
    async with database.acquire() as conn:
        rows = await conn.fetch(sql, *args)
    return [SeriesRecord.from_row(r) for r in rows]


async def list_series(
    database: Database, *, where: SeriesFilter, after_key: str | None, limit: int
) -> list[SeriesRecord]:
    """Keyset page ordered by key; fetch `limit` rows (callers ask one extra to see a next page)."""
    stmt = select(*_COLUMNS).where(tenancy.readable(series)).order_by(series.c.key).limit(limit)
    if where.kinds:
        stmt = stmt.where(series.c.kind.in_(list(where.kinds)))
    if where.source is not None:
        stmt = stmt.where(series.c.source == where.source)
    if where.key_prefix:
        # starts_with is exact (no LIKE wildcards to escape).
        stmt = stmt.where(func.starts_with(series.c.key, where.key_prefix))
    if where.labels:
        stmt = stmt.where(series.c.labels.contains(dict(where.labels)))
    if after_key is not None:
        stmt = stmt.where(series.c.key > after_key)
    async with database.connect() as conn:
        rows = await conn.execute(stmt)
        return [SeriesRecord.from_row(r) for r in rows]


async def fetch_extents(
    database: Database, ids: Sequence[int]
) -> dict[int, tuple[datetime | None, datetime | None]]:
    """First and last timestamp per series, two index probes each (no scan)."""
    stmt = text(
        """SELECT s.id,
                  (SELECT ts FROM samples WHERE series_id = s.id ORDER BY ts ASC LIMIT 1),
                  (SELECT ts FROM samples WHERE series_id = s.id ORDER BY ts DESC LIMIT 1)
           FROM unnest(CAST(:ids AS integer[])) AS s(id)"""
    )
    async with database.connect() as conn:
        rows = await conn.execute(stmt, {"ids": list(ids)})
        return {r[0]: (r[1], r[2]) for r in rows}
