"""The one rate limiter every request to SMARD passes, shared by all requests in flight.

Pacing: request starts are at least 1/rate apart (the rate starts at, and never exceeds,
`requests_per_second`). Retry-After: a 429 or 503 that carries one holds every request back
until it has passed, not only the one that got it. Adaptation (AIMD, as in TCP congestion
control): a 429 multiplies the rate by `rate_decrease_factor`, at most once per round of
requests in flight (the other 429s of that round answer requests sent at the old rate);
every success adds `rate_recovery_step` requests per second back, up to the ceiling.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable

from scrapers.smard.logs import LOGGER_NAME
from scrapers.smard.settings import HttpSettings

_log = logging.getLogger(f"{LOGGER_NAME}.limiter")


class AdaptiveRateLimiter:
    def __init__(
        self,
        settings: HttpSettings,
        *,
        retry_after_max_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._settings = settings
        self._retry_after_max = retry_after_max_seconds
        self.clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()  # FIFO: requests start in the order they asked
        self._next_start = -math.inf
        self._resume_at = -math.inf
        # Bumped on every decrease; a 429 for a request sent before it changes nothing more.
        self._round = 0
        self.rate = settings.requests_per_second
        self.throttled = 0  # 429 answers seen

    async def acquire(self) -> int:
        """Wait for this request's turn; return the round to pass to `throttled_by`."""
        async with self._lock:
            # Loop: a Retry-After may arrive, and push the start further, while we sleep.
            while (delay := max(self._next_start, self._resume_at) - self.clock()) > 0:
                await self._sleep(delay)
            self._next_start = self.clock() + 1.0 / self.rate
            return self._round

    def succeeded(self) -> None:
        self.rate = min(
            self._settings.requests_per_second, self.rate + self._settings.rate_recovery_step
        )

    def hold(self, retry_after: float | None) -> float:
        """Hold every request back for `retry_after` seconds (clamped); return the resume time."""
        if retry_after:
            pause = min(retry_after, self._retry_after_max)
            self._resume_at = max(self._resume_at, self.clock() + pause)
        return max(self._resume_at, self.clock())

    def throttled_by(self, round_sent: int, retry_after: float | None) -> float:
        """A 429 for a request sent in `round_sent`: hold everyone, slow down once per round.
        Returns when requests may resume (monotonic clock)."""
        self.throttled += 1
        if round_sent == self._round:
            self._round += 1
            before = self.rate
            self.rate = max(
                self._settings.min_requests_per_second,
                self.rate * self._settings.rate_decrease_factor,
            )
            _log.warning(
                "SMARD rate limit: slowing down",
                extra={
                    "from_per_second": round(before, 2),
                    "to_per_second": round(self.rate, 2),
                    "retry_after_s": retry_after,
                },
            )
        return self.hold(retry_after)
