"""The change feed's database side: every committed write to `samples` announces what it
changed on PostgreSQL channel `sample_changes` (docs/architecture.md, The change feed).

The announcement is a `pg_notify` issued inside the writing transaction, so PostgreSQL
delivers it only when that transaction commits, in commit order, and never for one that rolls
back. Each notification's payload is compact JSON:

    {"kind": "ingest", "series": [[17, 1700000000000, 1700000900001], ...]}

one `[series id, lo, hi]` per changed series: the half-open window [lo, hi) in epoch
milliseconds that holds every changed row (lo rounded down, hi up). `kind` is "ingest" or
"delete". A change to many series is split over several notifications, each under
PostgreSQL's payload limit of 8000 bytes; each stands on its own.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson

__all__ = [
    "CHANNEL",
    "MAX_PAYLOAD_BYTES",
    "Change",
    "ChangeKind",
    "MalformedChange",
    "SeriesWindow",
    "announce",
    "decode",
    "encode",
    "window_ms",
]

CHANNEL = "sample_changes"
# PostgreSQL refuses payloads of 8000 bytes or more; a margin keeps well clear of it.
MAX_PAYLOAD_BYTES = 7900

_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


class ChangeKind(enum.StrEnum):
    INGEST = "ingest"
    DELETE = "delete"


@dataclass(frozen=True)
class SeriesWindow:
    """Rows of one series changed within [lo_ms, hi_ms), epoch milliseconds."""

    series_id: int
    lo_ms: int
    hi_ms: int

    @property
    def start(self) -> datetime:
        return _UNIX_EPOCH + self.lo_ms * _ONE_MS

    @property
    def end(self) -> datetime:
        return _UNIX_EPOCH + self.hi_ms * _ONE_MS


@dataclass(frozen=True)
class Change:
    """One notification: a committed write's kind and (part of) its changed windows."""

    kind: ChangeKind
    windows: tuple[SeriesWindow, ...]

    @property
    def series_ids(self) -> frozenset[int]:
        return frozenset(w.series_id for w in self.windows)


def window_ms(series_id: int, start: datetime, end: datetime) -> SeriesWindow:
    """The millisecond window that covers [start, end): start rounded down, end up."""
    lo = (start - _UNIX_EPOCH) // _ONE_MS
    hi = -((_UNIX_EPOCH - end) // _ONE_MS)
    return SeriesWindow(series_id, lo, hi)


def _payload(kind: ChangeKind, rows: Sequence[list[int]]) -> bytes:
    return orjson.dumps({"kind": kind.value, "series": rows})


def encode(kind: ChangeKind, windows: Iterable[SeriesWindow]) -> list[str]:
    """The payloads announcing `windows`, each under MAX_PAYLOAD_BYTES."""
    payloads: list[str] = []
    batch: list[list[int]] = []
    size = len(_payload(kind, []))
    for w in windows:
        row = [w.series_id, w.lo_ms, w.hi_ms]
        grows = len(orjson.dumps(row)) + (1 if batch else 0)  # the comma before it
        if batch and size + grows > MAX_PAYLOAD_BYTES:
            payloads.append(_payload(kind, batch).decode())
            batch, size = [], len(_payload(kind, []))
            grows -= 1
        batch.append(row)
        size += grows
    if batch:
        payloads.append(_payload(kind, batch).decode())
    return payloads


class MalformedChange(ValueError):
    pass


def decode(payload: str) -> Change:
    """A notification's payload as a Change; MalformedChange if it is not one."""
    try:
        data = orjson.loads(payload)
        kind = ChangeKind(data["kind"])
        windows = tuple(SeriesWindow(int(s), int(lo), int(hi)) for s, lo, hi in data["series"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise MalformedChange(f"not a change notification: {payload[:80]!r}") from exc
    return Change(kind, windows)


_NOTIFY = "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p"


async def announce(
    conn: asyncpg.Connection, kind: ChangeKind, windows: Iterable[SeriesWindow]
) -> None:
    """Queue the notifications for `windows`; must run in the transaction that changes the
    rows, which delivers them when it commits (and drops them if it rolls back)."""
    payloads = encode(kind, windows)
    if payloads:
        await conn.execute(_NOTIFY, CHANNEL, payloads)
