"""The shared adaptive rate limiter, on a virtual clock: pacing, Retry-After, AIMD."""

from __future__ import annotations

import pytest

from scrapers.smard.client import SmardClient
from scrapers.smard.errors import SmardUnavailable
from scrapers.smard.limiter import AdaptiveRateLimiter
from scrapers.smard.settings import HttpSettings
from tests.scrapers.smard.conftest import FAST_RETRY, VirtualClock
from tests.scrapers.smard.fake_server import FakeSmard, Fault

SETTINGS = HttpSettings(requests_per_second=4, min_requests_per_second=1, rate_recovery_step=0.5)


def limiter(clock: VirtualClock, settings: HttpSettings = SETTINGS) -> AdaptiveRateLimiter:
    return AdaptiveRateLimiter(settings, retry_after_max_seconds=60, clock=clock, sleep=clock.sleep)


async def test_requests_start_one_interval_apart(limiter_clock: VirtualClock) -> None:
    pacer = limiter(limiter_clock)
    for _ in range(3):
        await pacer.acquire()
    assert limiter_clock.sleeps == [0.25, 0.25]


async def test_a_retry_after_holds_back_every_request(limiter_clock: VirtualClock) -> None:
    pacer = limiter(limiter_clock)
    sent = await pacer.acquire()
    assert pacer.throttled_by(sent, 3.0) == 3.0
    await pacer.acquire()  # any request, not only the one that got the 429
    assert limiter_clock.now == 3.0
    pacer.throttled_by(sent, 3600.0)  # clamped to retry_after_max_seconds
    await pacer.acquire()
    assert limiter_clock.now == 3.0 + 60.0


async def test_the_rate_halves_once_per_round_and_recovers_step_by_step(
    limiter_clock: VirtualClock,
) -> None:
    pacer = limiter(limiter_clock)
    rounds = [await pacer.acquire() for _ in range(3)]  # three requests in flight
    for sent in rounds:  # all three come back 429: they were sent at the same rate
        pacer.throttled_by(sent, None)
    assert pacer.rate == 2.0 and pacer.throttled == 3
    pacer.throttled_by(await pacer.acquire(), None)  # sent at the lower rate: halve again
    assert pacer.rate == 1.0
    pacer.throttled_by(await pacer.acquire(), None)
    assert pacer.rate == 1.0  # min_requests_per_second
    for _ in range(4):
        pacer.succeeded()
    assert pacer.rate == 3.0
    for _ in range(10):
        pacer.succeeded()
    assert pacer.rate == 4.0  # never above requests_per_second


async def test_429s_cost_time_from_the_budget_not_attempts(
    smard_client: SmardClient, fake: FakeSmard, limiter_clock: VirtualClock
) -> None:
    fake.inject("4169/DE-LU/index_hour", *[Fault.http(429, "5")] * 20)
    with pytest.raises(SmardUnavailable) as info:
        await smard_client.index(4169, "DE-LU", "hour")
    assert info.value.status == 429
    # Retry-After 5 s within a 30 s budget: 7 requests, more than the 4 attempts allow.
    assert FAST_RETRY.timeout_seconds == 30 and FAST_RETRY.attempts == 4
    assert smard_client.requests == 7 and limiter_clock.now == 30.0


def test_the_rate_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="min_requests_per_second"):
        HttpSettings(requests_per_second=1, min_requests_per_second=2)
