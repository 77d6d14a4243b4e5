"""Pooled connections the server closed are not handed out again (db/engine.py: no pre-ping
round trip; the checkout refuses a closed asyncpg connection and the pool opens a new one)."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
from pydantic import SecretStr

from gateway.settings import Settings
from tests.conftest import running_app

QUERY = "query($key: String!) { series(key: $key) { key } }"
UPSERT = 'mutation { upsertSeries(input: {key: "chk", kind: POWER, unit: "kW"}) { key } }'


async def _read(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post("/graphql", json={"query": QUERY, "variables": {"key": "chk"}})


async def test_connections_terminated_by_the_server_are_replaced(
    database_url: str, admin_sql: asyncpg.Pool
) -> None:
    settings = Settings(env="dev", database_url=SecretStr(database_url))
    async with running_app(settings) as (_, client):
        assert (await client.post("/graphql", json={"query": UPSERT})).status_code == 200
        # Several reads at once leave several idle connections in the pool.
        for response in await asyncio.gather(*(_read(client) for _ in range(4))):
            assert response.json() == {"data": {"series": {"key": "chk"}}}
        terminated = await admin_sql.fetchval(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name LIKE 'energy-gateway/%' "
            "AND pid <> pg_backend_pid()"
        )
        assert terminated >= 2
        await asyncio.sleep(0.5)  # the event loop reads the closed sockets' EOF
        for _ in range(6):  # more than the idle connections: every one is met
            response = await _read(client)
            assert response.status_code == 200, response.text
            assert response.json() == {"data": {"series": {"key": "chk"}}}
