"""The SMARD scraper against a production-mode gateway: with an ingest key it stores
everything; with a key lacking the scope, or a bad key, it gets 403/401 and does not retry."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from tests.scrapers.smard.conftest import fake, no_retry_backoff, smard_server  # noqa: F401
from tests.scrapers.smard.fake_server import FakeSmard, FakeSmardServer
from tests.scrapers.smard.test_smard_e2e import HOUR, expected, newest_weeks, stored, sync_once


class Counting(httpx.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        self.statuses.append(response.status_code)
        return response


async def test_scraper_ingests_with_an_ingest_key(
    smard_server: FakeSmardServer,  # noqa: F811
    fake: FakeSmard,  # noqa: F811
    prod_live_gateway: Any,
    api_keys: dict[str, str],
    sql: asyncpg.Connection,
) -> None:
    transport = Counting()
    summary = await sync_once(
        smard_server, prod_live_gateway.url, HOUR, transport=transport, token=api_keys["ingest"]
    )
    assert summary.errors == 0 and summary.rows > 0
    assert set(transport.statuses) == {200}
    assert await stored(sql, HOUR.series_key) == expected(fake, HOUR, newest_weeks("hour"))


async def test_scraper_stops_at_once_on_401_and_403(
    smard_server: FakeSmardServer,  # noqa: F811
    fake: FakeSmard,  # noqa: F811
    prod_live_gateway: Any,
    api_keys: dict[str, str],
    sql: asyncpg.Connection,
) -> None:
    for token, status in ((api_keys["read"], 403), (api_keys["read"][:-1] + "x", 401), (None, 401)):
        transport = Counting()
        summary = await sync_once(
            smard_server, prod_live_gateway.url, HOUR, transport=transport, token=token
        )
        assert summary.errors == 1
        assert transport.statuses == [status], (token, transport.statuses)  # no retry
    assert await sql.fetchval("SELECT count(*) FROM samples") == 0
