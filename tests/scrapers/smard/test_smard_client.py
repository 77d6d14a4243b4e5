from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest

from scrapers.smard.client import SmardClient, is_transient
from scrapers.smard.errors import (
    SmardBadResponse,
    SmardDataError,
    SmardMisconfigured,
    SmardUnavailable,
)
from scrapers.smard.plan import chunk_refs
from scrapers.smard.retry import parse_retry_after
from scrapers.smard.settings import USER_AGENT, HttpSettings, RetrySettings
from tests.scrapers.smard.conftest import FAST_RETRY, VirtualClock
from tests.scrapers.smard.fake_server import FakeSmard, FakeSmardServer, Fault
from tests.scrapers.smard.fixtures import local_ms

QH_INDEX = "4169/DE-LU/index_quarterhour.json"


async def test_index_and_chunk_follow_the_real_paths(
    smard_client: SmardClient, fake: FakeSmard
) -> None:
    index = await smard_client.index(4169, "DE-LU", "quarterhour")
    assert index == fake.index()
    refs = chunk_refs(index)
    newest = await smard_client.chunk(4169, "DE-LU", "quarterhour", refs[-1])
    # Wednesday 14:00 local is the publication horizon: 2 days + 14 h of quarter-hours.
    assert len(newest) == (2 * 24 + 14) * 4 and newest.points == 672
    dst_end = next(r for r in refs if r.start == local_ms(date(2025, 10, 20)))
    assert len(await smard_client.chunk(4169, "DE-LU", "quarterhour", dst_end)) == 676
    assert fake.paths() == [
        f"/app/chart_data/{QH_INDEX}",
        f"/app/chart_data/4169/DE-LU/4169_DE-LU_quarterhour_{refs[-1].start}.json",
        f"/app/chart_data/4169/DE-LU/4169_DE-LU_quarterhour_{dst_end.start}.json",
    ]
    assert {hit.user_agent for hit in fake.hits} == {USER_AGENT}


async def test_404_is_never_retried(smard_client: SmardClient, fake: FakeSmard) -> None:
    with pytest.raises(SmardMisconfigured, match="404"):
        await smard_client.index(4170, "DE", "hour")
    assert len(fake.hits) == 1
    stale = chunk_refs([local_ms(date(2025, 3, 17)) + 1])[0]
    with pytest.raises(SmardMisconfigured):
        await smard_client.chunk(4169, "DE-LU", "hour", stale)
    assert len(fake.hits) == 2


@pytest.mark.parametrize(
    "fault",
    [
        Fault.http(429, "1"),
        Fault.http(503),
        Fault.http(500),
        Fault.truncated(),
        Fault.html(),
        Fault.slow(1.5),
    ],  # fmt: skip
    ids=["429", "503", "500", "truncated-json", "html-200", "timeout"],
)
async def test_transient_faults_are_retried(
    smard_client: SmardClient, fake: FakeSmard, fault: Fault
) -> None:
    fake.inject(QH_INDEX, fault, fault)
    assert await smard_client.index(4169, "DE-LU", "quarterhour") == fake.index()
    assert smard_client.requests == 3


async def test_persistent_faults_give_up_after_the_attempts(
    smard_client: SmardClient, fake: FakeSmard
) -> None:
    fake.inject(QH_INDEX, *[Fault.http(503)] * 10)
    with pytest.raises(SmardUnavailable) as info:
        await smard_client.index(4169, "DE-LU", "quarterhour")
    assert info.value.status == 503
    assert smard_client.requests == 4
    fake.inject("hour", *[Fault.html()] * 10)
    with pytest.raises(SmardBadResponse, match="text/html"):
        await smard_client.index(4169, "DE-LU", "hour")


async def test_oversized_responses_are_refused(
    smard_server: FakeSmardServer, fake: FakeSmard
) -> None:
    small = HttpSettings(max_response_bytes=5000, requests_per_second=100)
    async with httpx.AsyncClient() as http:
        client = SmardClient(
            http, base_url=smard_server.base_url, settings=small, retry=RetrySettings()
        )
        index = await client.index(4169, "DE-LU", "quarterhour")  # ~500 bytes
        with pytest.raises(SmardDataError, match="5000 byte cap"):
            await client.chunk(4169, "DE-LU", "quarterhour", chunk_refs(index)[0])
    assert client.requests == 2


async def test_retry_after_is_honoured_without_sleeping(
    smard_client: SmardClient,
    fake: FakeSmard,
    limiter_clock: VirtualClock,
    recorded_sleeps: list[float],
) -> None:
    fake.inject(QH_INDEX, Fault.http(429, "2"), Fault.http(503, "7"))
    await smard_client.index(4169, "DE-LU", "quarterhour")
    # The shared limiter holds the request back until each Retry-After has passed...
    assert limiter_clock.sleeps == [2.0, 7.0]
    # ...and only the 503 costs an attempt (with stamina's backoff, here shorter than 7 s).
    assert len(recorded_sleeps) == 1 and smard_client.requests == 3


async def test_backoff_is_exponential_with_jitter_within_bounds(
    smard_client: SmardClient, fake: FakeSmard, recorded_sleeps: list[float]
) -> None:
    fake.inject(QH_INDEX, *[Fault.http(503)] * 3)
    await smard_client.index(4169, "DE-LU", "quarterhour")
    # stamina's backoff with FAST_RETRY: 1 s * 2**n plus up to 1 s of jitter, capped at 60 s.
    assert len(recorded_sleeps) == 3
    for n, delay in enumerate(recorded_sleeps):
        assert 2**n <= delay <= 2**n + FAST_RETRY.wait_jitter_seconds


def test_only_transient_failures_are_retried() -> None:
    assert is_transient(SmardUnavailable("u", 503, None))
    assert is_transient(SmardBadResponse("html"))
    assert is_transient(httpx.ReadTimeout("slow"))
    assert not is_transient(SmardMisconfigured("u"))
    assert not is_transient(SmardDataError("shape"))
    # A 429 reaches stamina only once the call's time budget is spent.
    assert not is_transient(SmardUnavailable("u", 429, 1.0))


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("5", 5.0),
        (" 120 ", 120.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("Sat, 28 Nov 2026 04:00:10 GMT", 10.0),
    ],  # fmt: skip
)
def test_retry_after_header_forms(header: str | None, seconds: float | None) -> None:
    now = datetime(2026, 11, 28, 4, 0, 0, tzinfo=UTC)
    assert parse_retry_after(header, now=now) == seconds
