"""The per-request context resolvers see. Built by the gateway; no HTTP types in here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from db.engine import Database
from resolvers.auth import Principal
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
    charged to the caller's account too when there is one."""

    remaining: int
    account: CostAccount | None = None

    def spend(self, points: int, what: str) -> None:
        if points > self.remaining:
            raise BudgetExceeded(
                f"{what} would return up to {points} points, above the {self.remaining} "
                "left in this request's budget; narrow the range or use a coarser `every`"
            )
        if self.account is not None:
            self.account.charge(points, what)
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
    live: LiveSession | None = None  # a WebSocket connection's subscriptions (resolvers.live)
    loaders: Loaders = field(init=False)
    budget: Budget = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.database)
        self.budget = Budget(self.limits.max_request_points, self.account)

    def count_ingested(self, outcome: str, points: int) -> None:
        self.ingested[outcome] = self.ingested.get(outcome, 0) + points
