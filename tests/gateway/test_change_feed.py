"""The change feed (db.changes, gateway.changes): a committed ingest or delete reaches every
listening process with its series and window, a rolled-back write never does, a change to
many series is split under PostgreSQL's payload limit, and a listener that lost its
connection reconnects and tells its consumers to resync."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import numpy as np
import pytest

from db import changes, samples
from db.audit import AuditEntry
from db.changes import Change, ChangeKind, SeriesWindow
from db.engine import Database
from gateway.changes import RESYNC, ChangeFeed, FeedEvent

T0 = datetime(2025, 3, 30, tzinfo=UTC)
MS = 1_000


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    await db.start()
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def feed(database_url: str) -> AsyncIterator[tuple[ChangeFeed, asyncio.Queue[FeedEvent]]]:
    listener = ChangeFeed(database_url, min_retry_s=0.05, max_retry_s=0.2, probe_every_s=0.5)
    events: asyncio.Queue[FeedEvent] = asyncio.Queue()
    listener.subscribe(events.put_nowait)
    listener.start()
    try:
        assert await asyncio.wait_for(events.get(), 10) is RESYNC  # the first connection
        yield listener, events
    finally:
        await listener.stop()


async def _series(sql: asyncpg.Connection, *keys: str) -> list[int]:
    return [
        await sql.fetchval(
            "INSERT INTO series (key, name, kind, unit, timezone) "
            "VALUES ($1, $1, 'POWER', 'kW', 'UTC') RETURNING id",
            key,
        )
        for key in keys
    ]


def _batch(series_id: int, start: datetime, count: int) -> samples.SampleBatch:
    micros = (start - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    step = 15 * 60 * 1_000_000
    return samples.SampleBatch(
        series_id,
        np.arange(micros, micros + count * step, step, dtype=np.int64),
        np.ones(count, dtype=np.float64),
    )


async def _next_change(events: asyncio.Queue[FeedEvent]) -> Change:
    event = await asyncio.wait_for(events.get(), 10)
    assert isinstance(event, Change)
    return event


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * MS)


async def test_a_committed_ingest_announces_its_series_and_window(
    feed: tuple[ChangeFeed, asyncio.Queue[FeedEvent]],
    database: Database,
    sql: asyncpg.Connection,
) -> None:
    _, events = feed
    a, b = await _series(sql, "a", "b")
    await samples.write_samples(
        database, [_batch(a, T0, 4), _batch(b, T0 + timedelta(hours=1), 1)], samples.Conflict.UPDATE
    )
    change = await _next_change(events)
    assert change.kind is ChangeKind.INGEST
    assert set(change.windows) == {
        # The last sample at +45 min; the window is half-open, so it ends 1 ms after it.
        SeriesWindow(a, _epoch_ms(T0), _epoch_ms(T0 + timedelta(minutes=45)) + 1),
        SeriesWindow(b, _epoch_ms(T0 + timedelta(hours=1)), _epoch_ms(T0 + timedelta(hours=1)) + 1),
    }
    # Writing the same values again changes nothing, so nothing is announced; the delete is.
    await samples.write_samples(database, [_batch(a, T0, 4)], samples.Conflict.UPDATE)
    entry = AuditEntry(actor="cli", action="samples.delete", target="feed test")
    end = T0 + timedelta(minutes=30)
    assert await samples.delete_samples(database, series_id=a, start=T0, end=end, audit_entry=entry)
    change = await _next_change(events)
    assert change == Change(ChangeKind.DELETE, (SeriesWindow(a, _epoch_ms(T0), _epoch_ms(end)),))
    assert events.empty()


async def test_a_rolled_back_write_announces_nothing(
    feed: tuple[ChangeFeed, asyncio.Queue[FeedEvent]],
    database: Database,
    sql: asyncpg.Connection,
) -> None:
    _, events = feed
    (a,) = await _series(sql, "a")
    await samples.write_samples(database, [_batch(a, T0, 2)], samples.Conflict.ERROR)
    await _next_change(events)
    # ERROR mode meets a stored timestamp: the write rolls back and announces nothing.
    with pytest.raises(samples.SamplesExist):
        await samples.write_samples(database, [_batch(a, T0, 3)], samples.Conflict.ERROR)
    async with sql.transaction():
        await changes.announce(sql, ChangeKind.INGEST, [SeriesWindow(a, 0, 1)])
        await sql.execute("SELECT 1")
    marker = await _next_change(events)  # this one committed: it comes, and alone
    assert marker.windows == (SeriesWindow(a, 0, 1),)
    with pytest.raises(RuntimeError):
        async with sql.transaction():
            await changes.announce(sql, ChangeKind.DELETE, [SeriesWindow(a, 5, 6)])
            raise RuntimeError("roll back")
    await asyncio.sleep(0.3)
    assert events.empty()


async def test_a_change_to_many_series_is_split_under_the_payload_limit(
    feed: tuple[ChangeFeed, asyncio.Queue[FeedEvent]],
    sql: asyncpg.Connection,
) -> None:
    _, events = feed
    big = 10**15  # long numbers: fewer windows per notification
    windows = [SeriesWindow(i, big + i, big + 2 * i + 1) for i in range(1, 1001)]
    payloads = changes.encode(ChangeKind.INGEST, windows)
    assert len(payloads) > 1
    assert all(len(p.encode()) <= changes.MAX_PAYLOAD_BYTES for p in payloads)
    async with sql.transaction():
        await changes.announce(sql, ChangeKind.INGEST, windows)
    received: list[SeriesWindow] = []
    for _ in payloads:
        received.extend((await _next_change(events)).windows)
    assert received == windows


def test_windows_cover_the_changed_instants() -> None:
    second = datetime(2025, 1, 1, tzinfo=UTC)
    start = second + timedelta(microseconds=1500)
    window = changes.window_ms(7, start, start + timedelta(microseconds=1))
    assert (window.lo_ms, window.hi_ms) == (_epoch_ms(second) + 1, _epoch_ms(second) + 2)
    assert window.start <= start < start + timedelta(microseconds=1) <= window.end
    before = datetime(1969, 12, 31, 23, 59, 59, 999_500, tzinfo=UTC)  # negative epoch
    window = changes.window_ms(7, before, before + timedelta(microseconds=1))
    assert (window.lo_ms, window.hi_ms) == (-1, 0)


def test_malformed_payloads_are_refused() -> None:
    for payload in ("", "[]", '{"kind": "upsert", "series": []}', '{"kind": "ingest"}'):
        with pytest.raises(changes.MalformedChange):
            changes.decode(payload)


async def test_the_listener_reconnects_and_asks_for_a_resync(
    feed: tuple[ChangeFeed, asyncio.Queue[FeedEvent]],
    database: Database,
    sql: asyncpg.Connection,
) -> None:
    listener, events = feed
    (a,) = await _series(sql, "a")
    terminated = await sql.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = 'energy-gateway-changes' AND datname = current_database()"
    )
    assert terminated >= 1
    assert await asyncio.wait_for(events.get(), 10) is RESYNC
    assert listener.connections == 2
    await samples.write_samples(database, [_batch(a, T0, 1)], samples.Conflict.UPDATE)
    assert (await _next_change(events)).series_ids == {a}


async def test_a_failing_consumer_does_not_stop_the_others(
    feed: tuple[ChangeFeed, asyncio.Queue[FeedEvent]], sql: asyncpg.Connection
) -> None:
    listener, events = feed

    def broken(_event: FeedEvent) -> None:
        raise RuntimeError("consumer bug")

    stop = listener.subscribe(broken)
    async with sql.transaction():
        await changes.announce(sql, ChangeKind.INGEST, [SeriesWindow(1, 0, 1)])
    await _next_change(events)
    stop()
