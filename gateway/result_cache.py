"""The result cache as the settings ask for it (docs/cache.md): none, in process, or in
Redis; fed with other processes' writes by the change feed (gateway.changes)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from db.changes import Change
from gateway.changes import ChangeFeed, FeedEvent
from gateway.redis_cache import RedisStore
from gateway.settings import Settings
from resolvers.cache import MemoryStore, ResultCache

__all__ = ["CacheCollector", "CacheService"]


class CacheService:
    """Owns the cache and what keeps it current across processes."""

    def __init__(self, settings: Settings) -> None:
        self.redis: RedisStore | None = None
        self.cache: ResultCache | None = None
        if settings.cache_redis_url is not None:
            self.redis = RedisStore(
                settings.cache_redis_url.get_secret_value(),
                ttl_s=settings.cache_ttl_s,
                prefix=settings.cache_redis_prefix,
            )
            self.cache = ResultCache(self.redis)
        elif settings.cache_max_bytes > 0:
            self.cache = ResultCache(MemoryStore(max_bytes=settings.cache_max_bytes))
        self._unsubscribe: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def shared(self) -> bool:
        """Versions live in Redis: every replica sees a write as soon as its writer answers."""
        return self.redis is not None

    def start(self, feed: ChangeFeed) -> None:
        """Apply the writes other processes commit, as the change feed reports them. In
        process, each process's cache needs them; with Redis the writer has bumped the
        versions already, and this repeats it in case the writer failed between its commit
        and its bump."""
        if self.cache is not None and self._unsubscribe is None:
            self._unsubscribe = feed.subscribe(self._on_change)

    def _on_change(self, event: FeedEvent) -> None:
        cache = self.cache
        assert cache is not None
        if isinstance(event, Change):
            windows = [(w.series_id, w.start, w.end) for w in event.windows]
            if self.shared:
                task = asyncio.create_task(cache.invalidate(windows, origin="remote"))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:
                cache.invalidate_in_process(windows, origin="remote")
        elif not self.shared:  # (re)connected: what was missed meanwhile is unknown
            task = asyncio.create_task(cache.forget_all())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await task
        if self.redis is not None:
            await self.redis.close()


class CacheCollector(Collector):
    """Hits, misses, invalidations and errors, and the in-process cache's size, read at
    scrape time."""

    def __init__(self, cache: ResultCache | None) -> None:
        self.cache = cache

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        if self.cache is None:
            return
        stats = self.cache.stats
        for name, doc, counts, label in (
            ("cache_hits", "Results served from the result cache, by kind.", stats.hits, "kind"),
            ("cache_misses", "Results computed on a cache miss, by kind.", stats.misses, "kind"),
            (
                "cache_invalidations",
                "Written (series, window) pairs applied to the cache, by origin.",
                stats.invalidations,
                "origin",
            ),
        ):
            family = CounterMetricFamily(name, doc, labels=[label])
            for value, count in sorted(counts.items()):
                family.add_metric([value], count)
            yield family
        yield CounterMetricFamily(
            "cache_errors", "Failed calls to the cache's store (read through).", stats.errors
        )
        sizes = self.cache.store.sizes()
        if sizes is not None:
            yield GaugeMetricFamily("cache_entries", "Entries in the in-process cache.", sizes[0])
            yield GaugeMetricFamily(
                "cache_bytes", "Approximate bytes of the in-process cache's entries.", sizes[1]
            )
