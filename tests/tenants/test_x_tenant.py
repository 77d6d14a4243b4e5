"""X-Tenant (docs/api.md, Tenants): platform keys act for a tenant; tenant keys cannot act
for another; refusals do not tell whether a tenant exists. Audit rows carry the tenant."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from db import audit
from db.engine import Database
from gateway.keys import issue_key, revoke_key
from resolvers.auth import Scope
from sidecar.client import GatewayClient
from sidecar.settings import GatewaySettings, with_gateway_overrides
from tests.tenants.conftest import Caller, Tokens, caller

UPSERT = 'mutation { upsertSeries(input: {key: "ops:pv", kind: POWER, unit: "kW"}) { key } }'
READ = '{ series(key: "ops:pv") { key } }'


async def _post(
    client: httpx.AsyncClient, token: str, tenant: str | None, query: str = READ
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if tenant is not None:
        headers["X-Tenant"] = tenant
    return await client.post("/graphql", json={"query": query}, headers=headers)


async def test_platform_key_acts_for_a_tenant(
    tenant_client: httpx.AsyncClient, tokens: Tokens, acme: Caller, beta: Caller, platform: Caller
) -> None:
    for_acme = caller(tenant_client, tokens.platform, "acme")
    assert "errors" not in await for_acme(UPSERT)
    assert (await acme(READ))["data"]["series"] == {"key": "ops:pv"}  # acme's now
    assert (await beta(READ))["data"]["series"] is None
    assert (await platform(READ))["data"]["series"] is None  # not a platform series


async def test_tenant_key_names_its_own_tenant(
    tenant_client: httpx.AsyncClient, tokens: Tokens
) -> None:
    response = await _post(tenant_client, tokens.acme, "acme")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("tenant", ["beta", "no-such-tenant", "Not A Name!"])
async def test_other_tenants_are_refused_alike(
    tenant_client: httpx.AsyncClient, tokens: Tokens, tenant: str
) -> None:
    """A tenant key naming an existing other tenant, an unknown one or garbage gets one answer
    shape; only the echoed name differs."""
    response = await _post(tenant_client, tokens.acme, tenant)
    assert response.status_code == 403
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "TENANT_REFUSED"
    assert body["errors"][0]["message"] == f"this key cannot act for tenant {tenant!r}"


async def test_platform_key_and_unknown_tenant(
    tenant_client: httpx.AsyncClient, tokens: Tokens
) -> None:
    known = await _post(tenant_client, tokens.platform, "beta")
    unknown = await _post(tenant_client, tokens.platform, "nobody-here")
    assert known.status_code == 200
    assert unknown.status_code == 403
    assert unknown.json()["errors"][0]["extensions"]["code"] == "TENANT_REFUSED"


async def test_audit_rows_carry_the_tenant(
    database_url: str, tenant_client: httpx.AsyncClient, tokens: Tokens, admin_sql: asyncpg.Pool
) -> None:
    database = Database(database_url)
    try:
        issued = await issue_key(database, [Scope.READ], name="audit-probe", tenant="gamma")
        await revoke_key(database, issued.key.id)
        events = await audit.list_events(database, limit=1000)
    finally:
        await database.dispose()
    mine = [e for e in events if issued.key.id in e.target or e.target == "gamma"]
    assert [(e.action, e.tenant) for e in mine] == [
        ("tenant.create", "gamma"),
        ("key.create", "gamma"),
        ("key.revoke", "gamma"),
    ]
    ingest = caller(tenant_client, tokens.platform, "acme")
    assert "errors" not in await ingest(UPSERT)
    deleted = await ingest(
        'mutation { deleteSamples(key: "ops:pv", from: "2024-01-01T00:00:00Z", '
        'to: "2024-01-02T00:00:00Z") { deleted userErrors { code } } }'
    )
    assert deleted["data"]["deleteSamples"]["userErrors"] == []
    row = await admin_sql.fetchrow(
        "SELECT actor, tenant FROM audit_log WHERE action = 'samples.delete' ORDER BY id DESC"
    )
    assert row is not None and row["tenant"] == "acme" and row["actor"].startswith("key_")


async def test_metrics_need_a_platform_key(
    tenant_client: httpx.AsyncClient, tokens: Tokens
) -> None:
    """/metrics spans every tenant (series keys in the freshness gauge): tenant keys get 403."""
    tenant = await tenant_client.get("/metrics", headers={"Authorization": f"Bearer {tokens.acme}"})
    assert tenant.status_code == 403
    assert tenant.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    platform = await tenant_client.get(
        "/metrics", headers={"Authorization": f"Bearer {tokens.platform}"}
    )
    assert platform.status_code == 200


async def test_sidecar_acts_for_its_tenant(
    tenant_client: httpx.AsyncClient, tokens: Tokens, acme: Caller, platform: Caller
) -> None:
    """A sidecar configured with GATEWAY_TENANT writes into that tenant (forecasts, scenario
    results), through the platform key's X-Tenant."""
    env = {"GATEWAY_TOKEN": tokens.platform, "GATEWAY_TENANT": "acme"}
    section = with_gateway_overrides({}, env, "http://gateway.test/graphql")["gateway"]
    settings = GatewaySettings.model_validate(section)
    client = GatewayClient(tenant_client, settings)
    await client.upsert_series({"key": "fc:acme", "kind": "POWER", "unit": "kW"})
    assert (await acme('{ series(key: "fc:acme") { key } }'))["data"]["series"] is not None
    assert (await platform('{ series(key: "fc:acme") { key } }'))["data"]["series"] is None
