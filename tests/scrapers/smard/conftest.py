"""Fixtures of the SMARD scraper tests: fake SMARD server, settings, clients, no-sleep retries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import stamina

from scrapers.smard.client import SmardClient
from scrapers.smard.limiter import AdaptiveRateLimiter
from scrapers.smard.publish import GatewayClient
from scrapers.smard.settings import (
    HttpSettings,
    RetrySettings,
    SeriesConfig,
    Settings,
)
from scrapers.smard.sync import Syncer
from tests.scrapers.smard.fake_server import FakeSmard, FakeSmardServer
from tests.scrapers.smard.memory_gateway import MemoryGateway


@pytest.fixture(autouse=True)
def no_retry_backoff() -> Iterator[None]:
    """stamina's test mode: no backoff sleeps, at most 4 attempts per call."""
    with stamina.set_testing(True, attempts=4, cap=True):
        yield


@pytest.fixture
def recorded_sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Real backoff computation with the sleeping replaced by a recorder."""
    sleeps: list[float] = []

    async def fake_sleep(delay: float) -> None:
        sleeps.append(delay)

    monkeypatch.setattr("stamina._core._smart_sleep", fake_sleep)
    with stamina.set_testing(False):
        yield sleeps


@pytest.fixture(scope="session")
def smard_server() -> Iterator[FakeSmardServer]:
    with FakeSmardServer() as server:
        yield server


@pytest.fixture
def fake(smard_server: FakeSmardServer) -> Iterator[FakeSmard]:
    """The shared fake server's state, reset before each test."""
    smard_server.state.reset()
    yield smard_server.state


FAST_HTTP = HttpSettings(timeout_seconds=0.5, connect_timeout_seconds=0.5, requests_per_second=100)
FAST_RETRY = RetrySettings(attempts=4, timeout_seconds=30)


class VirtualClock:
    """A monotonic clock that only moves when the rate limiter sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def limiter_clock() -> VirtualClock:
    return VirtualClock()


def make_settings(smard_server: FakeSmardServer, **overrides: Any) -> Settings:
    data: dict[str, Any] = {"base_url": smard_server.base_url, "http": FAST_HTTP}
    data["retry"] = FAST_RETRY
    data["gateway"] = {"url": "http://gateway.test/graphql", "retry": {"attempts": 4}}
    data.update(overrides)
    return Settings.model_validate(data)


def series(filter_id: int, region: str, resolution: str, **extra: Any) -> SeriesConfig:
    return SeriesConfig(filter=filter_id, region=region, resolution=resolution, **extra)


@pytest.fixture
async def smard_client(
    smard_server: FakeSmardServer, limiter_clock: VirtualClock
) -> AsyncIterator[SmardClient]:
    """A client whose rate limiter waits on a virtual clock: Retry-After costs no real time."""
    limiter = AdaptiveRateLimiter(
        FAST_HTTP,
        retry_after_max_seconds=FAST_RETRY.retry_after_max_seconds,
        clock=limiter_clock,
        sleep=limiter_clock.sleep,
    )
    async with httpx.AsyncClient() as http:
        yield SmardClient(
            http,
            base_url=smard_server.base_url,
            settings=FAST_HTTP,
            retry=FAST_RETRY,
            limiter=limiter,
        )


@pytest.fixture
def memory_gateway() -> MemoryGateway:
    return MemoryGateway()


def build_syncer(
    settings: Settings, smard_http: httpx.AsyncClient, gateway_http: httpx.AsyncClient
) -> Syncer:
    smard = SmardClient(
        smard_http, base_url=settings.base_url, settings=settings.http, retry=settings.retry
    )
    gateway = GatewayClient(gateway_http, settings=settings.gateway)
    return Syncer(settings, smard, gateway)
