"""Per-request DataLoaders: series metadata by key, first/last timestamps, buckets.

Created per request (in the context) so nothing is cached across requests or event loops.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

from strawberry.dataloader import DataLoader

from db.aggregate import BucketRequest, BucketRows, fetch_buckets_many
from db.engine import Database
from db.series import SeriesRecord, fetch_extents, fetch_series_by_keys

__all__ = ["Loaders"]

Extent = tuple[datetime | None, datetime | None]


async def _by_key(database: Database, keys: Sequence[str]) -> list[SeriesRecord | None]:
    found = {r.key: r for r in await fetch_series_by_keys(database, keys)}
    return [found.get(k) for k in keys]


async def _extents(database: Database, ids: Sequence[int]) -> list[Extent]:
    found = await fetch_extents(database, ids)
    return [found.get(i, (None, None)) for i in ids]


class Loaders:
    def __init__(self, database: Database) -> None:
        self.series_by_key = DataLoader[str, SeriesRecord | None](partial(_by_key, database))
        self.extents = DataLoader[int, Extent](partial(_extents, database))
        # Sibling `aggregate` fields (a dashboard of many series) share statements.
        self.buckets = DataLoader[BucketRequest, BucketRows](
            partial(fetch_buckets_many, database), cache=False
        )

    def prime(self, record: SeriesRecord) -> None:
        self.series_by_key.prime(record.key, record)
