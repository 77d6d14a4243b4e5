"""The result cache's rules on their own (resolvers.cache): which writes reach which entries,
and the race between a read that computes and a write that commits meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from resolvers.cache import MAX_BLOCKS, MemoryStore, ResultCache, Span, read_tags, write_tags

T = datetime(2024, 3, 4, tzinfo=UTC)
DAY = timedelta(days=1)


def _touches(write: Span, read: Span) -> bool:
    return bool(set(write_tags(write)) & set(read_tags(read)))


def test_a_write_reaches_reads_of_its_series_and_window_only() -> None:
    week = Span(1, T, T + 7 * DAY)
    assert _touches(Span(1, T + 3 * DAY, T + 3 * DAY + timedelta(minutes=1)), week)
    assert _touches(Span(1, T - DAY, T + timedelta(microseconds=1)), week)  # overlaps the edge
    assert not _touches(Span(2, T + 3 * DAY, T + 4 * DAY), week)  # another series
    assert not _touches(Span(1, T + 30 * DAY, T + 31 * DAY), week)  # another window
    assert not _touches(Span(1, T - DAY, T), week)  # ends where the read starts


def test_long_reads_and_wide_writes_still_meet() -> None:
    year = Span(1, T, T + 365 * DAY)
    decades = Span(1, datetime(1980, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
    for read in (year, decades, Span(1)):
        assert _touches(Span(1, T + 100 * DAY, T + 100 * DAY + DAY), read)
        assert _touches(Span(1, T - 900 * DAY, T + 900 * DAY), read)  # wider than any level
        assert _touches(Span(1), read)  # a whole-series change
    assert len(read_tags(Span(1, T, T + MAX_BLOCKS * DAY))) == MAX_BLOCKS + 1  # + its wide tag
    assert read_tags(Span(1)) == ["1:all"]


async def test_a_write_during_the_computation_is_never_hidden() -> None:
    cache = ResultCache(MemoryStore(max_bytes=1 << 20), clock=lambda: T + 100 * DAY)
    span = [Span(1, T, T + DAY)]
    stored = {"value": 1}
    computed = 0

    async def compute_and_meet_a_write() -> int:
        nonlocal computed
        computed += 1
        old = stored["value"]
        # The write commits and invalidates while this read is still on its old snapshot.
        stored["value"] += 1
        await cache.invalidate([(1, T + timedelta(hours=5), T + timedelta(hours=6))])
        return old

    assert await cache.get("k", "key", span, compute_and_meet_a_write) == 1
    # The stale answer was not kept: the next read computes and sees the write.

    async def compute() -> int:
        nonlocal computed
        computed += 1
        return stored["value"]

    assert await cache.get("k", "key", span, compute) == 2
    assert await cache.get("k", "key", span, compute) == 2
    assert computed == 2
    assert cache.stats.hits == {"k": 1} and cache.stats.misses == {"k": 2}


async def test_forgotten_versions_only_cause_misses() -> None:
    store = MemoryStore(max_bytes=1 << 20, max_tags=4)
    cache = ResultCache(store, clock=lambda: T + 100 * DAY)
    span = [Span(1, T, T + DAY)]
    value = {"v": "old"}

    async def compute() -> str:
        return value["v"]

    assert await cache.get("k", "key", span, compute) == "old"
    value["v"] = "new"
    await cache.invalidate([(1, T, T + DAY)])
    for sid in range(2, 10):  # pushes the series' tags out of the bounded version table
        await cache.invalidate([(sid, T, T + DAY)])
    assert await cache.get("k", "key", span, compute) == "new"


async def test_ranges_reaching_past_now_are_not_stored() -> None:
    now = T + DAY / 2
    cache = ResultCache(MemoryStore(max_bytes=1 << 20), clock=lambda: now)
    assert not cache.cacheable(T + DAY)
    assert cache.cacheable(now)


async def test_a_read_in_flight_across_a_clear_is_not_stored() -> None:
    """After a missed notification (the listener reconnects) the cache is cleared; a read
    that started before must not put its possibly old answer back."""
    cache = ResultCache(MemoryStore(max_bytes=1 << 20), clock=lambda: T + 100 * DAY)
    span = [Span(1, T, T + DAY)]
    calls = 0

    async def compute_across_a_clear() -> int:
        nonlocal calls
        calls += 1
        await cache.forget_all()
        return calls

    assert await cache.get("k", "key", span, compute_across_a_clear) == 1
    assert await cache.get("k", "key", span, compute_across_a_clear) == 2
