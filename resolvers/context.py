"""The per-request context resolvers see. Built by the gateway; no HTTP types in here."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from db.engine import Database
from resolvers.auth import Principal
from resolvers.cache import ResultCache
from resolvers.errors import BudgetExceeded
from resolvers.loaders import Loaders

if TYPE_CHECKING:
    from resolvers.live import LiveSession

__all__ = ["Budget", "Context", "CostAccount", "Limits"]


@dataclass(frozen=True, kw_only=True)
class Limits:
    max_ingest_points: int = 100_000
    max_request_points: int = 100_000  # buckets + raw samples returned by one request
    max_page_size: int = 1000
    min_timestamp: datetime = datetime.fromisoformat("1970-01-01T00:00:00+00:00")
    max_future: timedelta = timedelta(days=3660)


class CostAccount(Protocol):
    """The caller's points across requests (the gateway's per-key budget); `charge` raises
    `resolvers.errors.CostLimited` when the caller has none left."""

    def charge(self, points: int, what: str) -> None: ...


@dataclass
class Budget:
    """Points (buckets or raw samples) one request may still return; checked before SQL, and
    charged to the caller's account too when there is one.

    Bucket reads `spend` their bound at once. Raw samples without a `limit` `reserve` an
    estimate and `settle` it with the rows they return, giving back the rest; a reservation that
    does not fit waits while other reads hold reservations (they may give points back), so a
    field is refused only when what the other fields really returned leaves no room for it."""

    remaining: int
    account: CostAccount | None = None
    held: int = 0  # points reserved by reads in flight, not yet settled
    _settled: asyncio.Event = field(default_factory=asyncio.Event)

    def spend(
        self, points: int, what: str, *, narrow: str = "narrow the range or use a coarser `every`"
    ) -> None:
        """Take `points` or raise `BudgetExceeded` saying what to `narrow`."""
        self._take(points, what, narrow, points)

    async def reserve(self, points: int, what: str, *, narrow: str, prepaid: int = 0) -> None:
        """Hold `points` for a read that settles later; `prepaid` of them were charged to the
        account by an earlier reservation of the same read."""
        while points > self.remaining and self.held > 0:
            settled = self._settled
            await settled.wait()
        self._take(points, what, narrow, max(0, points - prepaid))
        self.held += points

    def settle(self, reserved: int, used: int) -> None:
        """A read that reserved `reserved` returned `used` (<= reserved) points; the rest goes
        back to this request. The key's account keeps what was charged (docs/limits.md)."""
        self.held -= reserved
        self.remaining += reserved - used
        self._settled.set()
        self._settled = asyncio.Event()

    def _take(self, points: int, what: str, narrow: str, charge: int) -> None:
        if points > self.remaining:
            raise BudgetExceeded(
                f"{what} would return up to {points} points, above the {self.remaining} "
                f"left in this request's budget; {narrow}"
            )
        if self.account is not None and charge > 0:
            self.account.charge(charge, what)
        self.remaining -= points


@dataclass
class Context:
    database: Database
    limits: Limits
    principal: Principal
    request_id: str = "-"
    # Points by ingest outcome (inserted/updated/unchanged/rejected/failed) in this request,
    # for the gateway's access log and metrics.
    ingested: dict[str, int] = field(default_factory=dict)
    account: CostAccount | None = None
    cache: ResultCache | None = None  # closed aggregate and KPI ranges (resolvers.cache)
    live: LiveSession | None = None  # a WebSocket connection's subscriptions (resolvers.live)
    loaders: Loaders = field(init=False)
    budget: Budget = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.database, self.cache)
        self.budget = Budget(self.limits.max_request_points, self.account)

    def count_ingested(self, outcome: str, points: int) -> None:
        self.ingested[outcome] = self.ingested.get(outcome, 0) + points

    async def written(self, windows: Sequence[tuple[int, datetime, datetime]]) -> None:
        """Tell the result cache that rows of these (series id, start, end) windows changed;
        call it once the write has committed (or may have)."""
        if self.cache is not None:
            await self.cache.invalidate(windows)
