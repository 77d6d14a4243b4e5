"""Row-level security alone keeps tenants apart (docs/security.md, Row-level security).

The db layer's tenant predicate is switched off (`db.tenancy.application_filter(False)`, the
test build's switch); B's requests must still see nothing of A, because the gateway runs them
as role gateway_tenant with `gateway.tenant` set. The control case runs the same reads with
the predicate off and requests under the login role (a superuser here, which bypasses RLS):
there A's rows do reach B, so the first test would fail if the policies did nothing.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from db import tenancy
from tests.conftest import running_app
from tests.gateway.conftest import settings_for
from tests.tenants.conftest import Caller, Tokens, caller

READS = [
    '{ series(key: "a-only:pv") { key samples(from: "2024-01-01T00:00:00Z", '
    'to: "2024-01-02T00:00:00Z") { values } } }',
    '{ series(key: "shared:pv") { key samples(from: "2024-01-01T00:00:00Z", '
    'to: "2024-01-02T00:00:00Z") { values } } }',
    "{ seriesList(first: 1000) { edges { cursor node { key } } pageInfo { endCursor } } }",
    '{ site(key: "a-site") { key } }',
    "{ sites { key load } }",
]
INGEST = """mutation($k: String!) { ingest(input: {series: [{key: $k,
  timestamps: ["2024-01-01T01:00:00Z"], values: [5]}]}) { inserted userErrors { code } } }"""
DELETE = """mutation { deleteSamples(key: "a-only:pv", from: "2024-01-01T00:00:00Z",
  to: "2024-01-02T00:00:00Z") { deleted userErrors { code } } }"""
A_VALUE = 4242.5


async def _seed(acme: Caller, beta: Caller) -> None:
    for call, key, value in (
        (acme, "a-only:pv", A_VALUE),
        (acme, "shared:pv", A_VALUE),
        (beta, "shared:pv", 7.0),
    ):
        body = await call(
            f'mutation {{ upsertSeries(input: {{key: "{key}", kind: POWER, unit: "kW"}}) '
            "{ key } }"
        )
        assert "errors" not in body, body
        written = await call(
            f'mutation {{ ingest(input: {{series: [{{key: "{key}", '
            f'timestamps: ["2024-01-01T00:00:00Z"], values: [{value}]}}]}}) '
            "{ userErrors { code } } }"
        )
        assert written["data"]["ingest"]["userErrors"] == [], written
    site = await acme(
        'mutation { upsertSite(input: {key: "a-site", load: "a-only:pv", '
        "tariff: {kind: FIXED, importPriceCt: 30}}) { userErrors { code } } }"
    )
    assert site["data"]["upsertSite"]["userErrors"] == [], site


async def _b_reads(beta: Caller) -> str:
    bodies = [await beta(q) for q in READS]
    assert not [b for b in bodies if "errors" in b], bodies  # every read really ran
    return json.dumps(bodies)


@pytest.fixture
async def no_rls_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway whose requests run as the login role (superuser): RLS does not bind them."""
    async with running_app(settings_for(database_url, db_tenant_role="")) as (_app, client):
        yield client


async def test_rls_alone_keeps_b_out(acme: Caller, beta: Caller, admin_sql: asyncpg.Pool) -> None:
    await _seed(acme, beta)
    with tenancy.application_filter(False):
        seen = await _b_reads(beta)
        ingest = await beta(INGEST, {"k": "a-only:pv"})
        delete = await beta(DELETE)
    assert str(A_VALUE) not in seen and "a-only" not in seen and "a-site" not in seen, seen
    assert '"values": [7.0]' in seen  # B's own series of the shared key
    assert ingest["data"]["ingest"]["userErrors"][0]["code"] == "UNKNOWN_SERIES", ingest
    assert delete["data"]["deleteSamples"]["userErrors"][0]["code"] == "UNKNOWN_SERIES"
    stored = await admin_sql.fetchval(
        "SELECT count(*) FROM samples x JOIN series s ON s.id = x.series_id WHERE s.tenant = 'acme'"
    )
    assert stored == 2  # B wrote and deleted nothing of A's


async def test_control_without_rls_leaks(
    acme: Caller, beta: Caller, no_rls_client: httpx.AsyncClient, tokens: Tokens
) -> None:
    """The same reads without the predicate and without RLS: A's rows reach B, so the test
    above would catch policies that do nothing."""
    await _seed(acme, beta)
    with tenancy.application_filter(False):
        seen = await _b_reads(caller(no_rls_client, tokens.beta))
    assert str(A_VALUE) in seen and "a-only:pv" in seen and "a-site" in seen


async def test_policies_in_sql(acme: Caller, beta: Caller, admin_sql: asyncpg.Pool) -> None:
    """The policies themselves, as the gateway's role sees them in a transaction."""
    await _seed(acme, beta)
    async with admin_sql.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL ROLE gateway_tenant")
        await conn.execute("SELECT set_config('gateway.tenant', 'beta', true)")
        tenants = await conn.fetch("SELECT DISTINCT tenant FROM series")
        assert {r["tenant"] for r in tenants} == {"beta"}
        # TimescaleDB refuses RLS on the compressed samples hypertable (migration 0081).
        samples_rls = await conn.fetchval(
            "SELECT relrowsecurity FROM pg_class WHERE oid = 'samples'::regclass"
        )
        if samples_rls:
            assert await conn.fetchval("SELECT count(*) FROM samples") == 1
        assert await conn.fetchval("SELECT count(*) FROM sites") == 0
        a_id = await admin_sql.fetchval("SELECT id FROM series WHERE key = 'a-only:pv'")
        if samples_rls:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():  # a savepoint
                    await conn.execute(
                        "INSERT INTO samples VALUES ($1, '2024-01-01T05:00:00Z', 1)", a_id
                    )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO series (key, name, kind, unit, tenant) "
                    "VALUES ('x', 'x', 'POWER', 'kW', 'acme')"
                )
        assert await conn.execute("UPDATE series SET name = 'y' WHERE tenant = 'acme'") == (
            "UPDATE 0"
        )
        # A session that forgot the tenant sees platform rows only.
        await conn.execute("SELECT set_config('gateway.tenant', '', true)")
        assert await conn.fetchval("SELECT count(*) FROM series WHERE tenant IS NOT NULL") == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT * FROM api_keys")
