"""The result cache through the API (docs/cache.md): a write is seen by the next read at
once, exactly the written series and windows are forgotten, open ranges are never served
from the cache; with Redis, and across two gateway processes."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr
from starlette.applications import Starlette

from gateway.settings import Settings
from resolvers.cache import ResultCache
from tests.conftest import Gql, running_app
from tests.gateway.conftest import Gateway
from tests.kpi.helpers import hourly, kpis, make_site

REDIS_URL = "redis://127.0.0.1:6379/0"
WEEK_START = datetime(2024, 3, 4, tzinfo=UTC)
AGGREGATE = """query($key: String!, $from: DateTime!, $to: DateTime!) {
  series(key: $key) { aggregate(from: $from, to: $to, every: "PT1H") { starts count sum } }
}"""
UPSERT = "mutation($input: SeriesInput!) { upsertSeries(input: $input) { key } }"
INGEST = """mutation($input: IngestInput!) {
  ingest(input: $input) { inserted updated userErrors { code message } }
}"""
DELETE = """mutation($key: String!, $from: DateTime!, $to: DateTime!) {
  deleteSamples(key: $key, from: $from, to: $to) { deleted userErrors { code } }
}"""

Post = Callable[[str, dict[str, Any]], Any]


def _gql_on(client: httpx.AsyncClient, path: str = "/graphql") -> Gql:
    async def run(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await client.post(path, json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body.get("errors") is None, body
        return body

    return run


async def _series(gql: Gql, key: str) -> None:
    await gql(UPSERT, {"input": {"key": key, "kind": "POWER", "unit": "kW"}})


async def _put(gql: Gql, key: str, times: list[datetime], values: list[float]) -> None:
    series = [{"key": key, "timestamps": [t.isoformat() for t in times], "values": values}]
    body = await gql(INGEST, {"input": {"series": series}})
    assert body["data"]["ingest"]["userErrors"] == [], body


async def _sum(gql: Gql, key: str, start: datetime, end: datetime) -> float:
    body = await gql(AGGREGATE, {"key": key, "from": start.isoformat(), "to": end.isoformat()})
    return float(sum(body["data"]["series"]["aggregate"]["sum"]))


def _cache(app: Starlette) -> ResultCache:
    cache = app.state.cache
    assert isinstance(cache, ResultCache)
    return cache


def _hits(cache: ResultCache, kind: str = "aggregate") -> int:
    return cache.stats.hits.get(kind, 0)


async def _week_of_data(gql: Gql, key: str) -> None:
    await _series(gql, key)
    times = [WEEK_START + timedelta(hours=h) for h in range(7 * 24)]
    await _put(gql, key, times, [1.0] * len(times))


async def _ingest_reaches_the_next_read(gql: Gql, cache: ResultCache) -> None:
    end = WEEK_START + timedelta(days=7)
    await _week_of_data(gql, "c:a")
    assert await _sum(gql, "c:a", WEEK_START, end) == 168.0
    hits = _hits(cache)
    assert await _sum(gql, "c:a", WEEK_START, end) == 168.0
    assert _hits(cache) == hits + 1  # the second read was served from the cache
    await _put(gql, "c:a", [WEEK_START + timedelta(days=3)], [11.0])  # 1 -> 11
    assert await _sum(gql, "c:a", WEEK_START, end) == 178.0
    await gql(
        DELETE,
        {
            "key": "c:a",
            "from": WEEK_START.isoformat(),
            "to": (WEEK_START + timedelta(days=1)).isoformat(),
        },
    )
    assert await _sum(gql, "c:a", WEEK_START, end) == 178.0 - 24


async def test_ingest_and_delete_reach_the_next_read(gql: Gql, app: Starlette) -> None:
    await _ingest_reaches_the_next_read(gql, _cache(app))


async def test_writes_elsewhere_keep_the_entry(gql: Gql, app: Starlette) -> None:
    cache = _cache(app)
    end = WEEK_START + timedelta(days=7)
    await _week_of_data(gql, "c:kept")
    await _series(gql, "c:other")
    assert await _sum(gql, "c:kept", WEEK_START, end) == 168.0
    hits = _hits(cache)
    # Another series in the same window, and the same series a month later.
    await _put(gql, "c:other", [WEEK_START + timedelta(days=2)], [5.0])
    await _put(gql, "c:kept", [WEEK_START + timedelta(days=40)], [5.0])
    assert await _sum(gql, "c:kept", WEEK_START, end) == 168.0
    assert _hits(cache) == hits + 1
    # A write that changes nothing (same value again) forgets nothing either.
    await _put(gql, "c:kept", [WEEK_START + timedelta(days=1)], [1.0])
    assert await _sum(gql, "c:kept", WEEK_START, end) == 168.0
    assert _hits(cache) == hits + 2


async def test_an_open_range_is_never_served_from_the_cache(gql: Gql, app: Starlette) -> None:
    cache = _cache(app)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start, end = now - timedelta(hours=2), now + timedelta(hours=2)
    await _series(gql, "c:live")
    await _put(gql, "c:live", [start], [1.0])
    hits = _hits(cache)
    assert await _sum(gql, "c:live", start, end) == 1.0
    await _put(gql, "c:live", [now - timedelta(minutes=1)], [2.0])
    assert await _sum(gql, "c:live", start, end) == 3.0
    assert await _sum(gql, "c:live", start, end) == 3.0
    assert _hits(cache) == hits


async def test_site_kpis_see_an_ingest_at_once(gql: Gql, app: Starlette) -> None:
    cache = _cache(app)
    origin = datetime(2024, 6, 3, tzinfo=UTC)
    await hourly(gql, "c:pv", origin, [2.0] * 24)
    await hourly(gql, "c:imp", origin, [1.0] * 24)
    await hourly(gql, "c:exp", origin, [0.5] * 24)
    await make_site(
        gql, key="c-home", timezone="UTC", pv="c:pv", gridImport="c:imp", gridExport="c:exp",
        tariff={"kind": "FIXED", "importPriceCt": 30.0, "feedInCt": 8.0}, co2Intensity=400.0,
    )  # fmt: skip
    end = origin + timedelta(days=1)
    first = await kpis(gql, "c-home", origin, end, "P1D")
    hits = _hits(cache, "kpi")
    assert (await kpis(gql, "c-home", origin, end, "P1D")) == first
    assert _hits(cache, "kpi") == hits + 1
    assert first["total"]["production"] == pytest.approx(48.0)
    await hourly(gql, "c:pv", origin + timedelta(hours=12), [5.0])  # 2 -> 5 at noon
    again = await kpis(gql, "c-home", origin, end, "P1D")
    assert again["total"]["production"] == pytest.approx(51.0)


async def test_metrics_count_hits_misses_and_invalidations(
    client: httpx.AsyncClient, gql: Gql
) -> None:
    end = WEEK_START + timedelta(days=7)
    await _week_of_data(gql, "c:m")
    await _sum(gql, "c:m", WEEK_START, end)
    await _sum(gql, "c:m", WEEK_START, end)
    text = (await client.get("/metrics")).text
    for name in (
        'cache_hits_total{kind="aggregate"}',
        'cache_misses_total{kind="aggregate"}',
        'cache_invalidations_total{origin="local"}',
        "cache_entries ",
        "cache_bytes ",
    ):
        assert name in text, name


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own in the shared Redis, deleted afterwards."""
    prefix = f"gwc-test-{secrets.token_hex(4)}"
    yield prefix
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def test_redis_backend(settings: Settings, redis_prefix: str) -> None:
    redis_settings = settings.model_copy(
        update={"cache_redis_url": SecretStr(REDIS_URL), "cache_redis_prefix": redis_prefix}
    )
    async with running_app(redis_settings) as (app, client):
        cache = _cache(app)
        assert cache.store.sizes() is None  # shared: nothing held in this process
        await _ingest_reaches_the_next_read(_gql_on(client), cache)
        assert cache.stats.errors == 0
    probe = aioredis.Redis.from_url(REDIS_URL)
    try:
        assert [k async for k in probe.scan_iter(f"{redis_prefix}:e:aggregate:*")]
    finally:
        await probe.aclose()


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


async def _two_gateways_see_each_others_writes(
    start_gateway: Callable[..., Gateway], *, wait_s: float, **settings: str
) -> None:
    a = start_gateway("a", env="dev", **settings)
    b = start_gateway("b", env="dev", **settings)
    end = WEEK_START + timedelta(days=7)
    async with httpx.AsyncClient(base_url=a.base) as ca, httpx.AsyncClient(base_url=b.base) as cb:
        via_a, via_b = _gql_on(ca), _gql_on(cb)
        await _week_of_data(via_b, "c:two")
        assert await _sum(via_a, "c:two", WEEK_START, end) == 168.0
        assert await _sum(via_a, "c:two", WEEK_START, end) == 168.0
        hits = 'cache_hits_total{kind="aggregate"}'
        assert _metric((await ca.get("/metrics")).text, hits) >= 1  # A holds the entry
        await _put(via_b, "c:two", [WEEK_START + timedelta(days=2)], [101.0])
        deadline = asyncio.get_running_loop().time() + wait_s
        while (seen := await _sum(via_a, "c:two", WEEK_START, end)) != 268.0:
            assert seen == 168.0
            assert asyncio.get_running_loop().time() < deadline, "A never saw B's write"
            await asyncio.sleep(0.02)


async def test_two_processes_share_one_redis(
    start_gateway: Callable[..., Gateway], redis_prefix: str
) -> None:
    """A write through B is seen by the very next read through A: B bumps the versions in
    Redis before it answers."""
    await _two_gateways_see_each_others_writes(
        start_gateway, wait_s=0, cache_redis_url=REDIS_URL, cache_redis_prefix=redis_prefix
    )


async def test_two_processes_without_redis_follow_the_change_feed(
    start_gateway: Callable[..., Gateway],
) -> None:
    """Each process has its own cache; B's write reaches A's through NOTIFY, a few
    milliseconds after B answered."""
    await _two_gateways_see_each_others_writes(start_gateway, wait_s=5)


async def test_redis_may_evict_any_key(settings: Settings, redis_prefix: str) -> None:
    """Evicted version keys cost hits, never correctness: after a write whose version key
    is then lost, the old entry is not served."""
    redis_settings = settings.model_copy(
        update={"cache_redis_url": SecretStr(REDIS_URL), "cache_redis_prefix": redis_prefix}
    )
    end = WEEK_START + timedelta(days=7)
    async with running_app(redis_settings) as (_app, client):
        gql = _gql_on(client)
        probe = aioredis.Redis.from_url(REDIS_URL)

        async def evict_versions() -> None:  # as an LRU eviction or an expiry might
            versions = [k async for k in probe.scan_iter(f"{redis_prefix}:v:*")]
            if versions:
                await probe.delete(*versions)

        try:
            await _week_of_data(gql, "c:evict")
            await evict_versions()  # the entry is stored against tags nobody wrote since
            assert await _sum(gql, "c:evict", WEEK_START, end) == 168.0
            await _put(gql, "c:evict", [WEEK_START], [2.0])
            await evict_versions()  # and the write's versions are lost too
            assert await _sum(gql, "c:evict", WEEK_START, end) == 169.0
        finally:
            await probe.aclose()
