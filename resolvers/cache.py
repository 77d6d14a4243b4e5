"""A cache for aggregate and site KPI results that no write has touched since (docs/cache.md).

Every result depends on *spans*: a series and a time window (or the whole series). A span
maps to version *tags*: per series, fixed blocks of time at a few sizes (1, 32 and 1,024 days
from the Unix epoch), a per-size "wide" tag for writes that cover too many blocks, and one
tag for the whole series. A read looks at the finest size whose blocks cover its window in
at most `MAX_BLOCKS`; a write bumps, at every size, the blocks it overlaps (or the wide tag)
and the whole-series tag. So a write invalidates exactly the entries of its series whose
blocks it overlaps, and never one of another series.

An entry carries the versions of its tags as they were *before* its result was computed and
is served only while they are unchanged. A write that commits while a read computes bumps a
tag, so the read's result is never served (and not stored), whatever the order of events.
Versions come from one increasing sequence, so a tag that was forgotten and written again
can never show a version an entry captured.

Ranges that reach past the present (open buckets) are never cached.
"""

from __future__ import annotations

import itertools
import logging
import math
import weakref
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar, cast

from cachetools import LRUCache

__all__ = [
    "BLOCK_DAYS",
    "MAX_BLOCKS",
    "CacheStats",
    "Entry",
    "MemoryStore",
    "ResultCache",
    "Span",
    "Store",
    "forget_everywhere",
    "read_tags",
    "write_tags",
]

log = logging.getLogger(__name__)

BLOCK_DAYS = (1, 32, 1024)
MAX_BLOCKS = 16
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_BLOCK_US = tuple(days * 86_400_000_000 for days in BLOCK_DAYS)

T = TypeVar("T")


@dataclass(frozen=True)
class Span:
    """What a result depends on: rows of `series_id` in [start, end), or all its rows when
    `start` is None."""

    series_id: int
    start: datetime | None = None
    end: datetime | None = None


def _micros(t: datetime) -> int:
    return (t - _EPOCH) // _ONE_US


def _blocks(start: datetime, end: datetime, size_us: int) -> range:
    return range(_micros(start) // size_us, (_micros(end) - 1) // size_us + 1)


def read_tags(span: Span) -> list[str]:
    """The tags whose versions decide whether a result over `span` is still current."""
    sid = span.series_id
    if span.start is not None and span.end is not None and span.start < span.end:
        for level, size in enumerate(_BLOCK_US):
            blocks = _blocks(span.start, span.end, size)
            if len(blocks) <= MAX_BLOCKS:
                return [f"{sid}:{level}:{b}" for b in blocks] + [f"{sid}:{level}:w"]
    return [f"{sid}:all"]


def write_tags(span: Span) -> list[str]:
    """The tags a write over `span` bumps: every read tag it may affect."""
    sid = span.series_id
    tags = [f"{sid}:all"]
    if span.start is None or span.end is None:
        # A whole-series change: every window of every size.
        return tags + [f"{sid}:{level}:w" for level in range(len(_BLOCK_US))]
    for level, size in enumerate(_BLOCK_US):
        blocks = _blocks(span.start, span.end, size)
        if len(blocks) <= MAX_BLOCKS:
            tags += [f"{sid}:{level}:{b}" for b in blocks]
        else:
            tags.append(f"{sid}:{level}:w")
    return tags


@dataclass(frozen=True)
class Entry(Generic[T]):
    versions: tuple[int, ...]
    value: T


class Store(Protocol):
    """Where versions and entries live: this process (`MemoryStore`) or a shared server."""

    async def fetch(
        self, items: Sequence[tuple[str, list[str]]]
    ) -> list[tuple[tuple[int, ...], Any | None]]:
        """Per (entry key, tags): the tags' current versions and the stored entry (or None)."""
        ...

    async def versions(self, tags: list[str]) -> tuple[int, ...]: ...

    async def put(self, key: str, entry: Entry[Any]) -> None:
        """Store an entry; `key` starts with the result's kind and a `|`."""
        ...

    async def bump(self, tags: list[str]) -> None: ...

    async def clear(self) -> None: ...

    def sizes(self) -> tuple[int, int] | None:
        """(entries, approximate bytes) held in this process; None for a shared store."""
        ...


class _Versions(LRUCache[str, int]):
    """Tag -> version, bounded; a forgotten tag reads as the highest version ever forgotten,
    which is at least what any entry captured for it, so forgetting only causes misses."""

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self.floor = 0

    def popitem(self) -> tuple[str, int]:
        tag, version = super().popitem()
        self.floor = max(self.floor, version)
        return tag, version

    def current(self, tag: str) -> int:
        return self.get(tag, self.floor)


def _size(entry: Entry[Any]) -> int:
    """Approximate bytes of an entry: per list item a pointer plus a boxed value."""
    value = entry.value
    items = 0
    if isinstance(value, list):
        items = len(value) * 40  # a KPI row's fields
    else:
        columns = [getattr(value, "starts", ()), getattr(value, "ends", ())]
        columns += list(getattr(value, "columns", {}).values())
        items = sum(len(c) for c in columns)
    return 200 + 8 * len(entry.versions) + 40 * items


class MemoryStore:
    """Versions and entries in this process, entries bounded by approximate bytes (LRU)."""

    def __init__(self, *, max_bytes: int, max_tags: int = 1_000_000) -> None:
        self._entries: LRUCache[str, Entry[Any]] = LRUCache(max_bytes, getsizeof=_size)
        self._versions = _Versions(max_tags)
        self._sequence = itertools.count(1)
        self._epoch = 0

    async def fetch(
        self, items: Sequence[tuple[str, list[str]]]
    ) -> list[tuple[tuple[int, ...], Any | None]]:
        return [(self._current(tags), self._entries.get(key)) for key, tags in items]

    async def versions(self, tags: list[str]) -> tuple[int, ...]:
        return self._current(tags)

    def _current(self, tags: list[str]) -> tuple[int, ...]:
        # The epoch first: `clear` moves it, so a read in flight across it is not stored.
        return (self._epoch, *(self._versions.current(t) for t in tags))

    async def put(self, key: str, entry: Entry[Any]) -> None:
        if _size(entry) <= self._entries.maxsize:
            self._entries[key] = entry

    async def bump(self, tags: list[str]) -> None:
        self.bump_now(tags)

    def bump_now(self, tags: list[str]) -> None:
        """`bump` without awaiting: for callbacks that must not wait (the change feed)."""
        version = next(self._sequence)
        for tag in tags:
            self._versions[tag] = version

    async def clear(self) -> None:
        self._entries.clear()
        self._epoch += 1

    def sizes(self) -> tuple[int, int] | None:
        return len(self._entries), int(self._entries.currsize)


@dataclass
class CacheStats:
    """Counters the gateway exports in /metrics (gateway.metrics)."""

    hits: dict[str, int] = field(default_factory=dict)
    misses: dict[str, int] = field(default_factory=dict)
    invalidations: dict[str, int] = field(default_factory=dict)  # by origin: local, remote
    errors: int = 0

    @staticmethod
    def add(counter: dict[str, int], label: str, n: int = 1) -> None:
        counter[label] = counter.get(label, 0) + n


def _writes_spans(
    written: Iterable[tuple[int, datetime | None, datetime | None]],
) -> list[Span]:
    return [Span(sid, start, end) for sid, start, end in written]


_caches: weakref.WeakSet[ResultCache] = weakref.WeakSet()


class ResultCache:
    """Results by key and the spans they depend on; see the module docstring."""

    def __init__(self, store: Store, *, clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.stats = CacheStats()
        self._now = clock or (lambda: datetime.now(UTC))
        _caches.add(self)

    def cacheable(self, end: datetime) -> bool:
        """Only closed ranges: one that reaches past now holds buckets still filling up."""
        return end <= self._now()

    async def get_many(
        self,
        kind: str,
        requests: Sequence[tuple[Hashable, Sequence[Span]]],
        compute: Callable[[list[int]], Awaitable[list[T]]],
        *,
        storable: Callable[[T], bool] = lambda _value: True,
    ) -> list[T]:
        """The results of `requests` (key, spans), from the cache where current; the others
        through `compute(indices)`, in order, stored when no write touched their spans while
        they were computed."""
        keys = [f"{kind}|{key!r}" for key, _ in requests]
        tags = [_tags(spans) for _, spans in requests]
        try:
            found = await self.store.fetch(list(zip(keys, tags, strict=True)))
        except Exception as exc:  # a shared store that is down: read through
            self._failed("fetch", exc)
            found = [((), None)] * len(requests)
        results: list[T | None] = [None] * len(requests)
        missing: list[int] = []
        for i, (versions, entry) in enumerate(found):
            if isinstance(entry, Entry) and versions and entry.versions == versions:
                results[i] = entry.value
            else:
                missing.append(i)
        CacheStats.add(self.stats.hits, kind, len(requests) - len(missing))
        if missing:
            CacheStats.add(self.stats.misses, kind, len(missing))
            computed = await compute(missing)
            await self._store(kind, missing, computed, keys, tags, found, storable)
            for i, value in zip(missing, computed, strict=True):
                results[i] = value
        return cast("list[T]", results)

    async def _store(
        self,
        kind: str,
        indices: list[int],
        values: Sequence[T],
        keys: list[str],
        tags: list[list[str]],
        found: list[tuple[tuple[int, ...], Any | None]],
        storable: Callable[[T], bool],
    ) -> None:
        try:
            for i, value in zip(indices, values, strict=True):
                before = found[i][0]
                if not before or not storable(value):
                    continue
                # Stored only if no write touched the spans while the value was computed
                # (an entry that missed it would never be served anyway; this saves room).
                if await self.store.versions(tags[i]) == before:
                    await self.store.put(keys[i], Entry(before, value))
        except Exception as exc:
            self._failed("store", exc)

    async def get(
        self,
        kind: str,
        key: Hashable,
        spans: Sequence[Span],
        compute: Callable[[], Awaitable[T]],
        *,
        storable: Callable[[T], bool] = lambda _value: True,
    ) -> T:
        async def one(_indices: list[int]) -> list[T]:
            return [await compute()]

        return (await self.get_many(kind, [(key, spans)], one, storable=storable))[0]

    async def invalidate(
        self,
        written: Iterable[tuple[int, datetime | None, datetime | None]],
        *,
        origin: str = "local",
    ) -> None:
        """Forget what rows of these (series, start, end) windows fed; start None is the
        whole series. Called after a write commits (and, for other processes' writes, when
        their change notification arrives)."""
        spans = _writes_spans(written)
        if not spans:
            return
        tags = sorted({t for span in spans for t in write_tags(span)})
        CacheStats.add(self.stats.invalidations, origin, len(spans))
        try:
            await self.store.bump(tags)
        except Exception as exc:
            self._failed("invalidate", exc)

    def invalidate_in_process(
        self,
        written: Iterable[tuple[int, datetime | None, datetime | None]],
        *,
        origin: str = "remote",
    ) -> None:
        """`invalidate` at once, for an in-process store (a change feed callback)."""
        assert isinstance(self.store, MemoryStore)
        spans = _writes_spans(written)
        CacheStats.add(self.stats.invalidations, origin, len(spans))
        self.store.bump_now(sorted({t for span in spans for t in write_tags(span)}))

    async def forget_all(self) -> None:
        """Drop every entry (a change notification may have been missed)."""
        try:
            await self.store.clear()
        except Exception as exc:
            self._failed("clear", exc)

    def _failed(self, what: str, exc: Exception) -> None:
        self.stats.errors += 1
        log.warning("result cache %s failed: %s", what, type(exc).__name__)


async def forget_everywhere() -> None:
    """Drop the entries of every in-process cache of this process: for rows changed behind
    the gateway's back (a restore, a TRUNCATE in the tests' cleanup), which no write
    notification reports (docs/cache.md)."""
    for cache in list(_caches):
        await cache.forget_all()


def _tags(spans: Sequence[Span]) -> list[str]:
    return [t for span in spans for t in read_tags(span)]


def finite(values: Iterable[Any]) -> bool:
    """True if no float in `values` is NaN or infinite (such results are not cached: the
    shared store's JSON cannot hold them)."""
    return all(not isinstance(v, float) or math.isfinite(v) for v in values)
