"""Connection budgets (docs/limits.md): the pool arithmetic, read and ingest pools that do not
starve each other, the read time limit that cancels its statements (checked in
pg_stat_activity), and the per-tenant ingest concurrency limit. Blocking is made real with
table locks held by another connection, never with sleeps in the code under test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from gateway.pool_plan import LISTENER_CONNECTIONS, BudgetTooSmall, plan_pools
from gateway.settings import Settings
from tests.gateway.conftest import bearer, running_app, settings_for

LIST = {"query": "{ seriesList { nodes { key } } }"}
INGEST = (
    "mutation($input: IngestInput!) { ingest(input: $input) "
    "{ inserted userErrors { code message } } }"
)
ACTIVE = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND application_name = $1 AND state = 'active'"
)


def _ingest(key: str, hour: int = 0) -> dict[str, Any]:
    stamp = f"2025-01-01T{hour:02d}:00:00Z"
    series = [{"key": key, "timestamps": [stamp], "values": [1.0]}]
    return {"query": INGEST, "variables": {"input": {"series": series}}}


async def _until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 15) -> None:
    """Poll until `check` holds (a bound for a stuck test, not a timing assertion)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.05)


@asynccontextmanager
async def _locked(database_url: str, table: str) -> AsyncIterator[asyncpg.Connection]:
    """`table` locked against every other session until the block ends."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            yield conn
    finally:
        await conn.close()


async def _active(conn: asyncpg.Connection, pool: str) -> int:
    return int(await conn.fetchval(ACTIVE, f"energy-gateway/{pool}"))


# --- pool arithmetic ---------------------------------------------------------------------


def _settings(**values: Any) -> Settings:
    return settings_for("postgresql://p@db/p", **values)


def test_default_budget_of_one_worker() -> None:
    plan = plan_pools(_settings())
    assert (plan.read.size, plan.ingest.size) == (12, 2)
    assert plan.read.max_overflow == plan.ingest.max_overflow == 0  # a ceiling, no overflow
    assert plan.total == 16 == _settings().db_max_connections


def test_workers_share_the_budget() -> None:
    plan = plan_pools(_settings(db_max_connections=40), workers=4)
    assert (plan.per_worker, plan.read.size, plan.ingest.size) == (10, 6, 2)
    assert plan.total == 40
    # An uneven split leaves the remainder unused rather than passing the budget.
    plan = plan_pools(_settings(db_max_connections=17), workers=2)
    assert (plan.read.size, plan.total) == (4, 16)


def test_no_configuration_passes_the_budget() -> None:
    for budget in range(4, 64):
        for workers in range(1, 9):
            for ingest in range(1, 5):
                settings = _settings(db_max_connections=budget, db_ingest_connections=ingest)
                try:
                    plan = plan_pools(settings, workers=workers)
                except BudgetTooSmall:
                    assert budget // workers < LISTENER_CONNECTIONS + ingest + 1
                    continue
                assert plan.total <= budget
                assert plan.read.size >= 1 and plan.ingest.size == ingest


def test_a_budget_too_small_is_refused_with_what_would_fit() -> None:
    with pytest.raises(BudgetTooSmall) as refused:
        plan_pools(_settings(db_max_connections=16), workers=4)
    message = str(refused.value)
    assert "GATEWAY_DB_MAX_CONNECTIONS=16 cannot serve 4 worker(s)" in message
    assert "to 20 or more" in message  # 4 x (2 listener + 2 ingest + 1 read)
    assert plan_pools(_settings(db_max_connections=20), workers=4).total == 20
    with pytest.raises(BudgetTooSmall, match="at least 1"):
        plan_pools(_settings(), workers=0)


# --- pools, time limit, ingest slots against the real server ------------------------------


async def test_reads_are_served_while_the_ingest_pool_is_exhausted(
    database_url: str, api_keys: dict[str, str], sql: asyncpg.Connection
) -> None:
    await sql.execute(
        "INSERT INTO series (key, kind, unit, name) VALUES ('p:a', 'POWER', 'kW', 'a')"
    )
    settings = settings_for(database_url, db_ingest_connections=1, db_pool_timeout_s=0.5)
    async with running_app(settings) as (app, client):
        async with app.state.database.ingest.connect() as held:  # the ingest pool's only one
            await held.exec_driver_sql("SELECT 1")
            for _ in range(3):
                response = await client.post(
                    "/graphql", json=LIST, headers=bearer(api_keys["read"])
                )
                assert response.status_code == 200, response.text
            # The ingest waits for its own pool, not for a reader's connection.
            blocked = await client.post(
                "/graphql", json=_ingest("p:a"), headers=bearer(api_keys["ingest"])
            )
            assert blocked.status_code == 503 and blocked.headers["Retry-After"]
        done = await client.post(
            "/graphql", json=_ingest("p:a"), headers=bearer(api_keys["ingest"])
        )
        assert done.json()["data"]["ingest"] == {"inserted": 1, "userErrors": []}


async def test_a_read_past_the_time_limit_is_504_and_its_statement_is_cancelled(
    database_url: str, api_keys: dict[str, str], sql: asyncpg.Connection
) -> None:
    settings = settings_for(database_url, read_timeout_s=0.5)
    async with running_app(settings) as (_, client), _locked(database_url, "series"):
        request = asyncio.create_task(
            client.post("/graphql", json=LIST, headers=bearer(api_keys["read"]))
        )

        async def running() -> bool:
            return await _active(sql, "read") == 1

        # The statement really reached the server (it waits there for the lock)...
        await _until(running, "the series query never reached PostgreSQL")
        response = await request
        assert response.status_code == 504
        assert response.headers["content-type"] == "application/json"
        (error,) = response.json()["errors"]
        assert error["extensions"] == {"code": "READ_TIMEOUT"}
        assert "0.5 s" in error["message"]

        async def gone() -> bool:
            return await _active(sql, "read") == 0

        # ...and is gone while the lock is still held: cancelled, not finished.
        await _until(gone, "the timed-out statement is still running in PostgreSQL")
    async with running_app(settings) as (_, client):
        after = await client.post("/graphql", json=LIST, headers=bearer(api_keys["read"]))
        assert after.status_code == 200


async def test_the_read_time_limit_leaves_the_pool_usable(
    database_url: str, api_keys: dict[str, str], sql: asyncpg.Connection
) -> None:
    """The same app answers again once the lock is gone: cancelled connections were
    returned in a usable state or replaced."""
    settings = settings_for(database_url, read_timeout_s=0.3)
    headers = bearer(api_keys["read"])
    async with running_app(settings) as (_, client):
        async with _locked(database_url, "series"):
            responses = await asyncio.gather(
                *(client.post("/graphql", json=LIST, headers=headers) for _ in range(3))
            )
            assert [r.status_code for r in responses] == [504, 504, 504]
        for _ in range(5):
            assert (await client.post("/graphql", json=LIST, headers=headers)).status_code == 200


async def test_mutations_are_not_cut_by_the_read_time_limit(
    database_url: str, api_keys: dict[str, str], sql: asyncpg.Connection
) -> None:
    await sql.execute(
        "INSERT INTO series (key, kind, unit, name) VALUES ('p:a', 'POWER', 'kW', 'a')"
    )
    settings = settings_for(database_url, read_timeout_s=0.2)
    async with running_app(settings) as (_, client):
        async with _locked(database_url, "samples"):
            ingest = asyncio.create_task(
                client.post("/graphql", json=_ingest("p:a"), headers=bearer(api_keys["ingest"]))
            )

            async def waiting() -> bool:
                return await _active(sql, "ingest") == 1

            await _until(waiting, "the ingest never reached PostgreSQL")
            await asyncio.sleep(0.4)  # past the read limit, which does not apply
            assert not ingest.done()
        response = await ingest
        assert response.json()["data"]["ingest"] == {"inserted": 1, "userErrors": []}


async def test_one_tenant_past_its_ingest_concurrency_gets_429(
    database_url: str, api_keys: dict[str, str], sql: asyncpg.Connection
) -> None:
    await sql.execute(
        "INSERT INTO series (key, kind, unit, name) VALUES ('p:a', 'POWER', 'kW', 'a')"
    )
    settings = settings_for(database_url, ingest_max_concurrent=1, metrics_public=True)
    async with running_app(settings) as (_, client):
        post = client.post
        async with _locked(database_url, "samples"):
            first = asyncio.create_task(
                post("/graphql", json=_ingest("p:a", 1), headers=bearer(api_keys["ingest"]))
            )

            async def writing() -> bool:
                return await _active(sql, "ingest") == 1

            await _until(writing, "the first ingest never reached PostgreSQL")
            refused = await post(
                "/graphql", json=_ingest("p:a", 2), headers=bearer(api_keys["ingest"])
            )
            assert refused.status_code == 429
            assert refused.headers["Retry-After"] == "1"
            (error,) = refused.json()["errors"]
            assert error["extensions"] == {"code": "CONCURRENCY_LIMITED"}
            # Another tenant (another key, for now) is not held back by this one's backfill,
            # and reads are not counted at all.
            other = asyncio.create_task(
                post("/graphql", json=_ingest("p:a", 3), headers=bearer(api_keys["all"]))
            )
            read = await post("/graphql", json=LIST, headers=bearer(api_keys["read"]))
            assert read.status_code == 200
        responses = [await first, await other]
        for response in responses:
            assert response.json()["data"]["ingest"] == {"inserted": 1, "userErrors": []}
        metrics = (await client.get("/metrics")).text
        assert 'refused_total{reason="ingest_concurrency"} 1.0' in metrics
        # The slot is free again once the call has finished.
        again = await post("/graphql", json=_ingest("p:a", 2), headers=bearer(api_keys["ingest"]))
        assert again.json()["data"]["ingest"] == {"inserted": 1, "userErrors": []}
    rows = await sql.fetchval("SELECT count(*) FROM samples")
    assert rows == 3  # the refused call wrote nothing; its retry did
