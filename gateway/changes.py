"""The change feed's gateway side: one LISTEN connection per process on channel
`sample_changes` (db.changes), fanning each committed change out to in-process consumers
(docs/architecture.md, The change feed).

Consumers register a callback with `subscribe`; it is called on the event loop with each
`Change`, in commit order, and with `RESYNC` each time the listener (re)connects:
notifications sent while nobody listened are lost, so a consumer that keeps state derived
from the data (a cache, a live subscription) must treat everything as possibly changed.
Callbacks must be quick and must not raise (one that does is logged and the others still
run); anything slow belongs in a task of the consumer's own.

The connection is a plain asyncpg one, not from the pool (a LISTEN holds its connection for
good). It is probed every `probe_every_s` so a connection that died silently (a network
partition) is noticed, and re-opened with exponential backoff while the database is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable

import asyncpg

from db.changes import CHANNEL, Change, MalformedChange, decode

__all__ = ["RESYNC", "ChangeFeed", "FeedEvent", "Resync"]

log = logging.getLogger("gateway.changes")


class Resync(enum.Enum):
    """The listener (re)connected: changes committed before may have been missed."""

    RESYNC = "resync"


RESYNC = Resync.RESYNC
FeedEvent = Change | Resync
Consumer = Callable[[FeedEvent], None]


class ChangeFeed:
    def __init__(
        self,
        url: str,
        *,
        min_retry_s: float = 0.5,
        max_retry_s: float = 10.0,
        probe_every_s: float = 15.0,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self.url = url
        self.min_retry_s = min_retry_s
        self.max_retry_s = max_retry_s
        self.probe_every_s = probe_every_s
        self.connect_timeout_s = connect_timeout_s
        self.connected = asyncio.Event()  # set while the LISTEN is in place
        self.connections = 0  # successful (re)connections, for tests and metrics
        self.received = 0  # notifications decoded and fanned out
        self._consumers: list[Consumer] = []
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, consumer: Consumer) -> Callable[[], None]:
        """Call `consumer` with every event from now on; returns the function that stops it."""
        self._consumers.append(consumer)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._consumers.remove(consumer)

        return unsubscribe

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="change-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.connected.clear()

    def _publish(self, event: FeedEvent) -> None:
        for consumer in list(self._consumers):
            try:
                consumer(event)
            except Exception:
                log.exception("change feed consumer failed")

    def _on_notification(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            change = decode(payload)
        except MalformedChange as exc:
            log.warning("%s", exc)
            return
        self.received += 1
        self._publish(change)

    async def _run(self) -> None:
        delay = self.min_retry_s
        while True:
            try:
                await self._listen_once()
                log.warning("change feed lost its connection; reconnecting")
                delay = self.min_retry_s  # it was up: retry soon
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("change feed cannot listen (%s); retry in %.1f s", exc, delay)
            self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_retry_s)

    async def _listen_once(self) -> None:
        """Listen until the connection is lost."""
        conn = await asyncpg.connect(
            self.url,
            timeout=self.connect_timeout_s,
            server_settings={"application_name": "energy-gateway-changes"},
        )
        closed = asyncio.Event()
        conn.add_termination_listener(lambda _conn: closed.set())
        try:
            await conn.add_listener(CHANNEL, self._on_notification)
            self.connections += 1
            self.connected.set()
            self._publish(RESYNC)  # whatever committed while nobody listened is unknown
            while not closed.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.probe_every_s):
                        await closed.wait()
                if not closed.is_set():
                    await conn.fetchval("SELECT 1", timeout=self.connect_timeout_s)
        finally:
            self.connected.clear()
            with contextlib.suppress(Exception):
                await conn.close(timeout=1)
