from __future__ import annotations

from datetime import date

import httpx
import pytest
from pydantic import SecretStr

from scrapers.smard.errors import GatewayUnavailable, PublishRejected
from scrapers.smard.publish import GatewayClient, gateway_backoff
from scrapers.smard.settings import GatewayRetrySettings, GatewaySettings, SeriesConfig
from tests.scrapers.smard.fixtures import local_ms
from tests.scrapers.smard.memory_gateway import MemoryGateway

QH = SeriesConfig(filter=4169, region="DE-LU", resolution="quarterhour")
LOAD = SeriesConfig(filter=410, region="DE", resolution="hour")
SETTINGS = GatewaySettings(
    url="http://gateway.test/graphql", retry=GatewayRetrySettings(attempts=4)
)


def client_for(gateway: MemoryGateway, settings: GatewaySettings = SETTINGS) -> GatewayClient:
    http = httpx.AsyncClient(transport=gateway.transport())
    return GatewayClient(http, settings=settings)


async def test_series_metadata_follows_the_contract(memory_gateway: MemoryGateway) -> None:
    gateway = client_for(memory_gateway)
    await gateway.upsert_series(QH)
    await gateway.upsert_series(LOAD)
    assert memory_gateway.series["smard:4169:DE-LU:quarterhour"] == {
        "key": "smard:4169:DE-LU:quarterhour",
        "name": "Day-ahead price Germany/Luxembourg, DE-LU (quarterhour)",
        "kind": "PRICE",
        "unit": "EUR/MWh",
        "timezone": "Europe/Berlin",
        "resolution": "PT15M",
        "labels": {
            "filter": "4169",
            "region": "DE-LU",
            "resolution": "quarterhour",
            "source": "smard",
        },
        "source": "smard",
    }
    load = memory_gateway.series["smard:410:DE:hour"]
    assert (load["kind"], load["unit"], load["resolution"]) == ("ENERGY", "MWh", "PT1H")


async def test_ingest_sends_rfc3339_utc_columns_and_reads_counts(
    memory_gateway: MemoryGateway,
) -> None:
    gateway = client_for(memory_gateway)
    assert await gateway.upsert_series(QH) is None  # no samples yet
    first = local_ms(date(2025, 3, 30), 3)
    counts = await gateway.ingest(QH.series_key, [first, first + 900_000], [10.5, -3.0])
    assert (counts.accepted, counts.inserted, counts.updated) == (2, 2, 0)
    body = memory_gateway.requests[-1]["body"]["variables"]["input"]
    assert body["series"][0]["timestamps"] == [
        "2025-03-30T01:00:00+00:00",
        "2025-03-30T01:15:00+00:00",
    ]
    assert body["onConflict"] == "UPDATE"
    again = await gateway.ingest(QH.series_key, [first, first + 900_000], [10.5, -2.0])
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 1)
    assert await gateway.upsert_series(QH) == first + 900_000


async def test_user_errors_reject_the_whole_call(memory_gateway: MemoryGateway) -> None:
    with pytest.raises(PublishRejected, match="UNKNOWN_SERIES"):
        await client_for(memory_gateway).ingest(
            "smard:unknown", [local_ms(date(2025, 4, 1))], [1.0]
        )


async def test_unavailable_gateway_is_retried_until_it_answers(
    memory_gateway: MemoryGateway,
) -> None:
    memory_gateway.outages.extend([(503, {"Retry-After": "5"}), (502, {})])
    gateway = client_for(memory_gateway)
    assert await gateway.upsert_series(LOAD) is None
    assert gateway.requests == 3
    assert LOAD.series_key in memory_gateway.series


async def test_unavailable_gateway_eventually_raises(memory_gateway: MemoryGateway) -> None:
    memory_gateway.outages.extend([(503, {})] * 10)
    gateway = client_for(memory_gateway)
    with pytest.raises(GatewayUnavailable):
        await gateway.upsert_series(LOAD)
    assert gateway.requests == 4


@pytest.mark.parametrize("status", [400, 401, 403, 413, 422])
async def test_client_errors_are_never_retried(memory_gateway: MemoryGateway, status: int) -> None:
    memory_gateway.outages.append((status, {}))
    gateway = client_for(memory_gateway)
    with pytest.raises(PublishRejected, match=str(status)):
        await gateway.upsert_series(LOAD)
    assert gateway.requests == 1


async def test_connection_errors_are_retried() -> None:
    calls = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise httpx.ConnectError("refused", request=request)
        last = "2025-03-30T03:00:00+02:00"
        return httpx.Response(
            200, json={"data": {"upsertSeries": {"key": "k", "lastTimestamp": last}}}
        )

    http = httpx.AsyncClient(transport=httpx.MockTransport(flaky))
    last = await GatewayClient(http, settings=SETTINGS).upsert_series(LOAD)
    assert last == local_ms(date(2025, 3, 30), 3)
    assert calls == 3


async def test_graphql_errors_are_rejections_and_the_token_is_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": None, "errors": [{"message": "needs scope"}]})

    settings = SETTINGS.model_copy(update={"token": SecretStr("egw_in_secret")})
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    with pytest.raises(PublishRejected, match="needs scope"):
        await GatewayClient(http, settings=settings).upsert_series(LOAD)
    assert len(seen) == 1
    assert seen[0].headers["authorization"] == "Bearer egw_in_secret"


async def test_gateway_backoff_uses_retry_after_and_exponential_backoff(
    memory_gateway: MemoryGateway, recorded_sleeps: list[float]
) -> None:
    memory_gateway.outages.extend([(503, {"Retry-After": "5"}), (503, {}), (429, {})])
    await client_for(memory_gateway).upsert_series(LOAD)
    # Retry-After as sent, then stamina's backoff: 1 s * 2**(n-1) plus up to 1 s of jitter.
    first, second, third = recorded_sleeps
    assert first == 5.0
    assert 2 <= second <= 3 and 4 <= third <= 5


def test_gateway_retry_after_is_clamped() -> None:
    hook = gateway_backoff(retry_after_max_seconds=30)
    assert hook(GatewayUnavailable("busy", 3600.0)) == 30.0
    assert hook(GatewayUnavailable("busy")) is True
    assert hook(PublishRejected("bad")) is False
