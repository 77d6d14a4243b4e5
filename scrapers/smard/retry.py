"""Retries shared by the SMARD client and the gateway publisher: stamina runs the loop and owns
the backoff (wait_initial * 2**n plus up to wait_jitter at random, capped at wait_max); this
module says which failures are worth another attempt and reads Retry-After headers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import stamina

from scrapers.smard.settings import RetrySettings

# stamina's backoff hook: False = give up, True = its own backoff, a float = wait this long.
BackoffHook = Callable[[Exception], bool | float]


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


def retrying(policy: RetrySettings, on: BackoffHook) -> AsyncIterator[stamina.Attempt]:
    """stamina's retry loop with the configured attempts, time budget and backoff."""
    return stamina.retry_context(
        on=on,
        attempts=policy.attempts,
        timeout=policy.timeout_seconds,
        wait_initial=policy.wait_initial_seconds,
        wait_max=policy.wait_max_seconds,
        wait_jitter=policy.wait_jitter_seconds,
    ).__aiter__()
