"""Live updates: what `samplesAdded` and `aggregateUpdated` push after each committed write
(docs/api.md, Subscriptions).

`LiveUpdates` is the process's hub. The gateway feeds it every committed change (from the
change feed, gateway.changes) and every resync. For each change it re-reads, once for all
subscriptions of this process, the changed window of the subscribed series (raw samples for
`samplesAdded`; the buckets the window touches for `aggregateUpdated`, once per distinct
`every`/`timezone`/`from`), then hands each subscription its update through a bounded
queue. Reads of successive changes run concurrently but are delivered in commit order. A
subscription whose queue is full is a slow consumer: its connection's `on_overflow` runs
(the gateway drops the connection) and the subscription gets nothing more.

Every message carries `sequence`, 1, 2, 3, ... per subscription, so a client can tell a
lost or repeated message; `resync: true` says changes may have been missed (the change
feed reconnected, or a re-read failed): re-read with a query.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import strawberry
from strawberry.types import Info

from db import aggregate as db_aggregate, live as db_live, samples as db_samples
from db.changes import Change, ChangeKind, SeriesWindow
from db.engine import Database
from db.intervals import BucketWidth
from resolvers.arguments import From, check_every, check_key, check_timezone, require_aware
from resolvers.codes import UserErrorCode
from resolvers.context import Context
from resolvers.errors import GatewayError, InvalidArgument
from resolvers.types import BucketColumns, SampleColumns

__all__ = [
    "MAX_KEYS",
    "AggregateUpdated",
    "LiveSession",
    "LiveUpdates",
    "SamplesAdded",
    "aggregate_updated",
    "samples_added",
]

log = logging.getLogger("resolvers.live")

MAX_KEYS = 100  # series one `samplesAdded` may watch


@strawberry.type(description="New samples of one watched series, after a committed ingest.")
class SamplesAdded:
    sequence: int = strawberry.field(
        description="1, 2, 3, ... per subscription: a gap or a repeat means a lost or "
        "duplicated message."
    )
    key: str | None = strawberry.field(description="The series; null on a resync.")
    resync: bool = strawberry.field(
        description="True: changes may have been missed (no samples in this message); "
        "re-read the range with a query."
    )
    samples: SampleColumns = strawberry.field(
        description="The stored samples in the window the ingest wrote (first to last point)."
    )


@strawberry.type(description="Buckets of a watched aggregate that a committed write changed.")
class AggregateUpdated:
    sequence: int = strawberry.field(description="1, 2, 3, ... per subscription.")
    key: str
    resync: bool = strawberry.field(
        description="True: changes may have been missed (no buckets in this message); "
        "re-read the range with a query."
    )
    buckets: BucketColumns = strawberry.field(
        description="The changed buckets, every aggregate computed; a bucket emptied by a "
        "delete has count 0 and null values."
    )


@dataclass(frozen=True)
class BucketSpec:
    width: BucketWidth
    timezone: str
    start: datetime


@dataclass(frozen=True)
class Resync:
    pass


@dataclass(frozen=True)
class SamplesUpdate:
    series_id: int
    samples: SampleColumns


@dataclass(frozen=True)
class BucketsUpdate:
    series_id: int
    rows: db_aggregate.BucketRows


Update = SamplesUpdate | BucketsUpdate | Resync
_RESYNC = Resync()


@dataclass(eq=False)
class Listener:
    """One subscription's registration: its series, its queue, what to do when it is full."""

    series_ids: frozenset[int]
    buckets: BucketSpec | None  # None: raw samples (samplesAdded)
    queue: asyncio.Queue[Update]
    on_overflow: Callable[[], None]
    dropped: bool = False


Deliveries = list[tuple[Listener, Update]]


class LiveUpdates:
    def __init__(self, database: Database, *, queue_size: int, max_points: int) -> None:
        self.database = database
        self.queue_size = queue_size
        self.max_points = max_points  # samples one message carries at most (then truncated)
        self._by_series: dict[int, set[Listener]] = {}
        self._ordered: asyncio.Queue[asyncio.Task[Deliveries]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        # Subscriptions starting at once (a burst of reconnecting clients) look their series
        # up a few at a time, so they queue here instead of exhausting the pool's checkout
        # timeout and starving queries and ingests.
        self.setup_slots = asyncio.Semaphore(2)
        self.delivered = 0  # updates queued for subscriptions
        self.overflows = 0  # subscriptions dropped as slow consumers

    # -- registration ----------------------------------------------------------------------

    def listen(
        self,
        series_ids: frozenset[int],
        buckets: BucketSpec | None,
        on_overflow: Callable[[], None],
    ) -> Listener:
        listener = Listener(series_ids, buckets, asyncio.Queue(self.queue_size), on_overflow)
        for sid in series_ids:
            self._by_series.setdefault(sid, set()).add(listener)
        return listener

    def forget(self, listener: Listener) -> None:
        for sid in listener.series_ids:
            listeners = self._by_series.get(sid)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._by_series[sid]

    @property
    def subscriptions(self) -> int:
        return len({id(x) for group in self._by_series.values() for x in group})

    # -- input from the change feed --------------------------------------------------------

    def changed(self, change: Change) -> None:
        windows = [w for w in change.windows if w.series_id in self._by_series]
        if windows:
            self._enqueue(self._prepare(change.kind, windows))

    def resync(self) -> None:
        listeners = {x for group in self._by_series.values() for x in group}
        if listeners:
            self._enqueue(_resolved([(x, _RESYNC) for x in listeners]))

    def _enqueue(self, deliveries: Awaitable[Deliveries]) -> None:
        self._ordered.put_nowait(asyncio.ensure_future(deliveries))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._deliver(), name="live-updates")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        while not self._ordered.empty():
            self._ordered.get_nowait().cancel()

    # -- delivery --------------------------------------------------------------------------

    async def _deliver(self) -> None:
        """Hand out each change's updates in commit order, until there are none left."""
        while not self._ordered.empty():
            deliveries = await self._ordered.get_nowait()
            for listener, update in deliveries:
                self._offer(listener, update)

    def _offer(self, listener: Listener, update: Update) -> None:
        if listener.dropped:
            return
        try:
            listener.queue.put_nowait(update)
        except asyncio.QueueFull:
            listener.dropped = True
            self.overflows += 1
            self.forget(listener)
            listener.on_overflow()
            return
        self.delivered += 1

    async def _prepare(self, kind: ChangeKind, windows: Sequence[SeriesWindow]) -> Deliveries:
        """Each listener's updates for one change. Each distinct read runs once, and the
        reads of one change run concurrently (a few at a time, to leave the pool to queries)."""
        wanted: list[tuple[Listener, tuple[object, ...]]] = []
        reads: dict[tuple[object, ...], Awaitable[Update | None]] = {}
        for window in windows:
            for listener in list(self._by_series.get(window.series_id, ())):
                read = self._read_for(kind, window, listener)
                if read is None:
                    continue
                key, make = read
                if key not in reads:
                    reads[key] = make()
                wanted.append((listener, key))
        keys = list(reads)
        gate = asyncio.Semaphore(4)

        async def run(read: Awaitable[Update | None]) -> Update | None:
            async with gate:
                try:
                    return await read
                except Exception as exc:  # the database failed: a change was missed
                    log.warning("live update read failed: %s", type(exc).__name__)
                    return _RESYNC

        results = dict(zip(keys, await asyncio.gather(*(run(reads[k]) for k in keys)), strict=True))
        return [(x, u) for x, key in wanted if (u := results[key]) is not None]

    def _read_for(
        self, kind: ChangeKind, window: SeriesWindow, listener: Listener
    ) -> tuple[tuple[object, ...], Callable[[], Awaitable[Update | None]]] | None:
        """What `listener` needs read for this change (a key that identifies the read, and
        the read), or None if the change is not for it."""
        sid = window.series_id
        spec = listener.buckets
        if spec is None:
            if kind is not ChangeKind.INGEST:
                return None  # samplesAdded tells of new samples only
            return ("samples", sid), lambda: self._samples_update(window)
        if window.end <= spec.start:
            return None  # before the watched range
        key = (
            "buckets",
            sid,
            spec.width.iso,
            spec.timezone,
            spec.start,
            window.lo_ms,
            window.hi_ms,
        )
        return key, lambda: self._buckets_update(window, spec)

    async def _samples_update(self, window: SeriesWindow) -> Update:
        return SamplesUpdate(window.series_id, await self._read_samples(window))

    async def _buckets_update(self, window: SeriesWindow, spec: BucketSpec) -> Update | None:
        rows = await self._read_buckets(window, spec)
        return None if rows is None else BucketsUpdate(window.series_id, rows)

    async def _read_samples(self, window: SeriesWindow) -> SampleColumns:
        timestamps, values = await db_samples.read_samples(
            self.database,
            series_id=window.series_id,
            start=window.start,
            end=window.end,
            limit=self.max_points + 1,
        )
        truncated = len(timestamps) > self.max_points
        return SampleColumns(
            timestamps=timestamps[: self.max_points],
            values=values[: self.max_points],
            truncated=truncated,
        )

    async def _read_buckets(
        self, window: SeriesWindow, spec: BucketSpec
    ) -> db_aggregate.BucketRows | None:
        first, end = await db_live.bucket_span(
            self.database, spec.width, spec.timezone, window.start, window.end
        )
        start = max(first, spec.start)
        if start >= end:
            return None
        return await db_aggregate.fetch_buckets(
            self.database,
            series_id=window.series_id,
            start=start,
            end=end,
            width=spec.width,
            timezone=spec.timezone,
            aggregates=db_aggregate.AGGREGATES,
            fill=db_aggregate.Fill.NULL,  # a bucket a delete emptied is reported, with count 0
        )


async def _resolved(deliveries: Deliveries) -> Deliveries:
    return deliveries


@dataclass
class LiveSession:
    """What a WebSocket connection gives its subscriptions' resolvers: the process's hub and
    what to do when one of them is a slow consumer."""

    hub: LiveUpdates
    on_overflow: Callable[[], None]
    listeners: set[Listener] = field(default_factory=set)


def _session(info: Info[Context, None]) -> LiveSession:
    live = info.context.live
    if live is None:  # an HTTP request: the pipeline refuses subscriptions before this
        raise GatewayError("subscriptions are served over WebSocket (graphql-transport-ws)")
    return live


async def _series_ids(
    info: Info[Context, None], session: LiveSession, keys: Sequence[str]
) -> dict[int, str]:
    """Series id -> key, through the same lookup queries use; unknown keys are refused."""
    async with session.hub.setup_slots:
        records = await info.context.loaders.series_by_key.load_many(list(keys))
    unknown = [k for k, r in zip(keys, records, strict=True) if r is None]
    if unknown:
        raise InvalidArgument(
            f"no series with key {unknown[0]!r}", code=UserErrorCode.UNKNOWN_SERIES
        )
    return {r.id: r.key for r in records if r is not None}


async def _stream(
    session: LiveSession, ids: dict[int, str], spec: BucketSpec | None
) -> AsyncGenerator[tuple[int, str | None, Update], None]:
    """(sequence, key, update) for one subscription until it ends; a resync has no key."""
    listener = session.hub.listen(frozenset(ids), spec, session.on_overflow)
    session.listeners.add(listener)
    try:
        sequence = 0
        while True:
            update = await listener.queue.get()
            sequence += 1
            key = None if isinstance(update, Resync) else ids[update.series_id]
            yield sequence, key, update
    finally:
        session.listeners.discard(listener)
        session.hub.forget(listener)


async def samples_added(
    info: Info[Context, None], keys: list[str]
) -> AsyncGenerator[SamplesAdded, None]:
    session = _session(info)
    if not keys or len(keys) > MAX_KEYS:
        raise InvalidArgument(f"`keys` must name 1 to {MAX_KEYS} series")
    for key in keys:
        check_key(key, "keys")
    ids = await _series_ids(info, session, keys)
    async for sequence, changed, update in _stream(session, ids, None):
        if isinstance(update, SamplesUpdate):
            yield SamplesAdded(sequence=sequence, key=changed, resync=False, samples=update.samples)
        else:
            empty = SampleColumns(timestamps=[], values=[], truncated=False)
            yield SamplesAdded(sequence=sequence, key=None, resync=True, samples=empty)


async def aggregate_updated(
    info: Info[Context, None],
    key: str,
    every: str,
    from_: From,
    timezone: str | None = None,
) -> AsyncGenerator[AggregateUpdated, None]:
    session = _session(info)
    check_key(key)
    require_aware(from_, "from")
    width = check_every(every)
    ids = await _series_ids(info, session, [key])
    record = await info.context.loaders.series_by_key.load(key)  # cached by the loader
    assert record is not None
    spec = BucketSpec(width, check_timezone(timezone or record.timezone), from_)
    async for sequence, _key, update in _stream(session, ids, spec):
        if isinstance(update, BucketsUpdate):
            rows = update.rows
            buckets = BucketColumns(starts=rows.starts, ends=rows.ends, **rows.columns)
            yield AggregateUpdated(sequence=sequence, key=key, resync=False, buckets=buckets)
        else:
            empty = BucketColumns(starts=[], ends=[], count=[])
            yield AggregateUpdated(sequence=sequence, key=key, resync=True, buckets=empty)
