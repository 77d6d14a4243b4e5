"""Per-key cost: points spent by a key's requests per time window, and how many of its
expensive requests run at once (docs/limits.md, "Per-key cost").

A request's cost is what its point budget (`resolvers.context.Budget`) charges before each
read runs: buckets, raw samples (the `limit`), KPI steps. Each charge also counts against the
key's window (a `limits` sliding-window counter, so a window holds one counter per key, not one
entry per point). Past `expensive_points` a request is expensive and takes one of the key's
expensive slots, and one of the process's, for the rest of its life; with every slot taken the
charge is refused. The process-wide slots bound the memory that large responses take (each
holds its columns and its JSON until sent). A key whose window is already spent gets 429
before anything runs.

Requests without a key (development mode's anonymous access) are not accounted. Each gateway
process counts on its own, like the rate limits.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from resolvers.errors import CostLimited

__all__ = ["KeyCosts", "RequestAccount"]


class KeyCosts:
    def __init__(
        self,
        budget: str | None,
        *,
        max_expensive: int,
        expensive_points: int,
        max_expensive_total: int | None = None,
    ) -> None:
        self.item: RateLimitItem | None = parse(budget) if budget else None
        self.max_expensive = max_expensive
        self.max_expensive_total = max_expensive_total
        self.expensive_points = expensive_points
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self.expensive: Counter[str] = Counter()  # key id -> expensive requests in flight

    def retry_after_s(self, key_id: str) -> int | None:
        """Seconds until the key's window has room again, or None if it has room now."""
        if self.item is None or self._limiter.test(self.item, key_id):
            return None
        stats = self._limiter.get_window_stats(self.item, key_id)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def account(self, key_id: str) -> RequestAccount:
        return RequestAccount(self, key_id)


@dataclass
class RequestAccount:
    """One request's charges against its key; `close` when the request ends."""

    costs: KeyCosts
    key_id: str
    spent: int = 0
    expensive: bool = False
    refused: str | None = field(default=None)  # what was refused, for the log and metrics

    def charge(self, points: int, what: str) -> None:
        costs = self.costs
        if not self.expensive and self.spent + points > costs.expensive_points:
            if costs.expensive[self.key_id] >= costs.max_expensive:
                self.refused = "key_concurrency"
                raise CostLimited(
                    f"{what} would make this request expensive (over {costs.expensive_points} "
                    f"points) while this key already runs {costs.max_expensive} expensive "
                    "requests; retry when one has finished"
                )
            total = costs.max_expensive_total
            if total is not None and costs.expensive.total() >= total:
                self.refused = "expensive_total"
                raise CostLimited(
                    f"{what} would make this request expensive (over {costs.expensive_points} "
                    f"points) while the gateway already runs {total} expensive requests; "
                    "retry shortly"
                )
            costs.expensive[self.key_id] += 1
            self.expensive = True
        if costs.item is not None and not costs._limiter.hit(costs.item, self.key_id, cost=points):
            self.refused = "key_cost"
            raise CostLimited(
                f"{what} would cost {points} points, more than this key has left of its "
                f"{costs.item.amount} points per {costs.item.get_expiry()} s; retry later or "
                "ask for less (a coarser `every`, a `limit`)"
            )
        self.spent += points

    def close(self) -> None:
        if self.expensive:
            self.expensive = False
            left = self.costs.expensive[self.key_id] - 1
            if left > 0:
                self.costs.expensive[self.key_id] = left
            else:
                del self.costs.expensive[self.key_id]
