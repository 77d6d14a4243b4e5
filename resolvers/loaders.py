"""Per-request DataLoaders: series metadata by key, first/last timestamps, buckets.

Created per request (in the context) so nothing is cached across requests or event loops,
except closed bucket ranges through the result cache (resolvers.cache), which checks at
every read that no write has touched them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from functools import partial

from strawberry.dataloader import DataLoader

from db.aggregate import BucketRequest, BucketRows, fetch_buckets_many
from db.engine import Database
from db.series import SeriesRecord, fetch_extents, fetch_series_by_keys
from resolvers.cache import ResultCache, Span, finite
from resolvers.cache_codecs import AGGREGATE

__all__ = ["Loaders"]

Extent = tuple[datetime | None, datetime | None]


async def _by_key(database: Database, keys: Sequence[str]) -> list[SeriesRecord | None]:
    found = {r.key: r for r in await fetch_series_by_keys(database, keys)}
    return [found.get(k) for k in keys]


async def _extents(database: Database, ids: Sequence[int]) -> list[Extent]:
    found = await fetch_extents(database, ids)
    return [found.get(i, (None, None)) for i in ids]


def _key(r: BucketRequest) -> tuple[object, ...]:
    """Everything a bucket result depends on besides the rows: the series by id (never by
    key), range, width, zone, columns and fill. Whether a rollup answers is left out: its
    results are identical (db.rollups)."""
    return (
        r.series_id,
        r.start.isoformat(),
        r.end.isoformat(),
        r.width.iso,
        r.timezone,
        tuple(sorted(r.aggregates)),
        r.fill.value,
    )


def _storable(rows: BucketRows) -> bool:
    return all(finite(column) for column in rows.columns.values())


async def _cached_buckets(
    database: Database, cache: ResultCache, requests: Sequence[BucketRequest]
) -> list[BucketRows]:
    """Closed ranges through the cache, open ones (reaching past now) from the database."""
    closed = [r for r in requests if cache.cacheable(r.end)]
    open_ = [r for r in requests if not cache.cacheable(r.end)]

    async def compute(indices: list[int]) -> list[BucketRows]:
        return await fetch_buckets_many(database, [closed[i] for i in indices])

    async def cached() -> list[BucketRows]:
        if not closed:
            return []
        keyed = [(_key(r), [Span(r.series_id, r.start, r.end)]) for r in closed]
        return await cache.get_many(AGGREGATE, keyed, compute, storable=_storable)

    async def uncached() -> list[BucketRows]:
        return await fetch_buckets_many(database, open_) if open_ else []

    from_cache, from_database = await asyncio.gather(cached(), uncached())
    answers = {id(r): rows for r, rows in zip(closed, from_cache, strict=True)}
    answers |= {id(r): rows for r, rows in zip(open_, from_database, strict=True)}
    return [answers[id(r)] for r in requests]


class Loaders:
    def __init__(self, database: Database, cache: ResultCache | None = None) -> None:
        self.series_by_key = DataLoader[str, SeriesRecord | None](partial(_by_key, database))
        self.extents = DataLoader[int, Extent](partial(_extents, database))
        # Sibling `aggregate` fields (a dashboard of many series) share statements.
        fetch = (
            partial(fetch_buckets_many, database)
            if cache is None
            else partial(_cached_buckets, database, cache)
        )
        self.buckets = DataLoader[BucketRequest, BucketRows](fetch, cache=False)

    def prime(self, record: SeriesRecord) -> None:
        self.series_by_key.prime(record.key, record)
