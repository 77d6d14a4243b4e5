"""Per-key rate limits (off by default): the call after the limit gets 429 with Retry-After
and RateLimit-* headers, other keys and the other rule are unaffected, failed authentication
counts per client address, and the refusals are counted in /metrics."""

from __future__ import annotations

from typing import Any

from tests.gateway.conftest import bearer, running_app, settings_for
from tests.gateway.test_observability import scrape

READ = {"query": "{ seriesList { nodes { key } } }"}
INGEST = {"query": "mutation { ingest(input: {series: []}) { accepted } }"}


async def test_limits_are_off_by_default(database_url: str) -> None:
    settings = settings_for(database_url)
    assert (settings.rate_limit_requests, settings.rate_limit_ingest) == (None, None)
    assert settings.rate_limit_anonymous is None


async def test_the_call_after_the_limit_gets_429(
    database_url: str, api_keys: dict[str, str]
) -> None:
    settings = settings_for(
        database_url,
        rate_limit_requests="5/minute",
        rate_limit_ingest="3/minute",
        rate_limit_anonymous="4/minute",
    )
    async with running_app(settings) as (_, client):
        ingest, other = bearer(api_keys["ingest"]), bearer(api_keys["all"])
        for _ in range(3):
            assert (await client.post("/graphql", json=INGEST, headers=ingest)).status_code == 200
        refused = await client.post("/graphql", json=INGEST, headers=ingest)
        assert refused.status_code == 429
        assert 0 < int(refused.headers["Retry-After"]) <= 60
        assert refused.headers["RateLimit-Limit"] == "3"
        assert refused.headers["RateLimit-Remaining"] == "0"
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        # Another key has its own budget; the same key's read budget is separate.
        assert (await client.post("/graphql", json=INGEST, headers=other)).status_code == 200
        for _ in range(5):
            assert (await client.post("/graphql", json=READ, headers=other)).status_code == 200
        assert (await client.post("/graphql", json=READ, headers=other)).status_code == 429
        # Failed authentication counts against the client's address.
        statuses = [
            (await client.post("/graphql", json=READ, headers=bearer("egw_ro_wrong"))).status_code
            for _ in range(5)
        ]
        assert statuses == [401, 401, 401, 401, 429]
        samples: Any = await scrape(client, api_keys["read"])
        assert samples[("rate_limited_total", (("rule", "ingest"),))] == 1
        assert samples[("rate_limited_total", (("rule", "requests"),))] == 1
        assert samples[("rate_limited_total", (("rule", "anonymous"),))] == 1
