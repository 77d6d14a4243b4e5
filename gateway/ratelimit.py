"""Per-key request rate limits (the `limits` package, in-process memory storage).

Three rules, each a `limits` string such as "20/second;1000/minute", all off unless set:
`requests` counts every operation of a key that is not an ingest, `ingest` counts calls with a
root `ingest` field, `anonymous` counts per client IP the requests that carry no valid key
(development mode's anonymous access, and failed authentication). Each gateway process
counts on its own, so with N replicas a client gets up to N times the rate.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

__all__ = ["RateLimits", "Refusal"]


@dataclass(frozen=True)
class Refusal:
    rule: str
    limit: int
    retry_after_s: int

    def headers(self) -> dict[str, str]:
        return {
            "Retry-After": str(self.retry_after_s),
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(self.retry_after_s),
        }


class RateLimits:
    def __init__(self, rules: dict[str, str | None]) -> None:
        self._rules: dict[str, list[RateLimitItem]] = {
            name: parse_many(spec) for name, spec in rules.items() if spec
        }
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    @property
    def enabled(self) -> bool:
        return bool(self._rules)

    async def hit(self, rule: str, identity: str) -> Refusal | None:
        """Count one request of `identity` under `rule`; a Refusal if a window is full."""
        for item in self._rules.get(rule, ()):
            if not await self._limiter.hit(item, rule, identity):
                stats = await self._limiter.get_window_stats(item, rule, identity)
                wait = max(1, math.ceil(stats.reset_time - time.time()))
                return Refusal(rule=rule, limit=item.amount, retry_after_s=wait)
        return None
