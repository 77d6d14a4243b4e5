"""Two tenants and the platform, each with a key holding every scope, against a production
app (keys required) of their own: without the per-key point budget, which the matrix and
the property test would spend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from db.engine import Database
from gateway.keys import issue_key
from resolvers.auth import Scope
from tests.conftest import running_app
from tests.gateway.conftest import settings_for

__all__ = ["Caller", "Tokens"]


@dataclass(frozen=True)
class Tokens:
    acme: str  # tenant A
    beta: str  # tenant B
    platform: str


@pytest.fixture(scope="session")
async def tokens(database_url: str) -> Tokens:
    database = Database(database_url)
    try:
        issued = {}
        for name, tenant in (("acme", "acme"), ("beta", "beta"), ("platform", None)):
            key = await issue_key(database, list(Scope), name=f"tenants-{name}", tenant=tenant)
            issued[name] = key.token
        return Tokens(**issued)
    finally:
        await database.dispose()


Caller = Callable[..., Awaitable[dict[str, Any]]]


def caller(client: httpx.AsyncClient, token: str, tenant: str | None = None) -> Caller:
    """POST a document with `token` (and X-Tenant); the decoded body (asserting HTTP 200)."""
    headers = {"Authorization": f"Bearer {token}"}
    if tenant is not None:
        headers["X-Tenant"] = tenant

    async def run(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return run


@pytest.fixture(scope="session")
async def tenant_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(settings_for(database_url, key_cost_budget=None)) as (_app, client):
        yield client


@pytest.fixture
def acme(tenant_client: httpx.AsyncClient, tokens: Tokens) -> Caller:
    return caller(tenant_client, tokens.acme)


@pytest.fixture
def beta(tenant_client: httpx.AsyncClient, tokens: Tokens) -> Caller:
    return caller(tenant_client, tokens.beta)


@pytest.fixture
def platform(tenant_client: httpx.AsyncClient, tokens: Tokens) -> Caller:
    return caller(tenant_client, tokens.platform)
