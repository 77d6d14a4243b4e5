"""Backoff policy shared by the SMARD client and the gateway publisher.

stamina runs the retry loop; this hook decides *whether* to retry and *how long* to wait:
full jitter (AWS: sleep = U(0, min(cap, base * 2**n))) or the server's Retry-After.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapers.smard.settings import RetrySettings

# What a classifier says about an exception: None = do not retry, otherwise the Retry-After
# delay the server asked for (0.0 when it gave none).
Classifier = Callable[[Exception], float | None]


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), if usable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass
class FullJitterBackoff:
    """A stamina backoff hook for one logical call; it counts the failures it has seen."""

    policy: RetrySettings
    classify: Classifier
    rng: random.Random
    delays: list[float] = field(default_factory=list)

    def __call__(self, exc: Exception) -> bool | float:
        retry_after = self.classify(exc)
        if retry_after is None:
            return False
        cap = min(
            self.policy.wait_max_seconds,
            self.policy.wait_initial_seconds * 2 ** len(self.delays),
        )
        delay = self.rng.uniform(0.0, cap)
        if retry_after > 0:
            delay = min(retry_after, self.policy.retry_after_max_seconds)
        self.delays.append(delay)
        # stamina treats a float as "retry after exactly this long"; 0.0 would still retry.
        return delay
