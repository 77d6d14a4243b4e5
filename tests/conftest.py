"""Fixtures shared by all tests: a fresh PostgreSQL database per session (real server, no
mocks), the app in-process, a live uvicorn gateway for HTTP clients, and a SQL connection."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from db.migrate import apply_migrations
from gateway.app import create_app
from gateway.settings import Settings
from resolvers.cache import forget_everywhere

BASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

Gql = Callable[..., Awaitable[dict[str, Any]]]


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@asynccontextmanager
async def fresh_database(prefix: str) -> AsyncIterator[str]:
    """A migrated database of its own, dropped on exit (tests never share state with a run
    that happens to use the same server)."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(BASE_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = _with_database(BASE_URL, name)
        await apply_migrations(url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """A database created for this test session and dropped afterwards."""
    async with fresh_database("gw_test") as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(env="dev", database_url=SecretStr(database_url))


@asynccontextmanager
async def started_app(settings: Settings) -> AsyncIterator[Starlette]:
    """The app with its lifespan running (pool open, capabilities detected)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@asynccontextmanager
async def client_for(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process httpx client for `app` (no sockets)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        yield c


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """An app with its lifespan running and an in-process client for it."""
    async with started_app(settings) as application, client_for(application) as c:
        yield application, c


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    async with started_app(settings) as application:
        yield application


@pytest.fixture(scope="session")
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        yield c


@pytest.fixture(scope="session")
def gql(client: httpx.AsyncClient) -> Gql:
    """POST a GraphQL document; return the decoded body (asserting HTTP 200)."""

    async def run(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await client.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return run


@pytest.fixture(scope="session")
async def admin_sql(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    assert pool is not None
    yield pool
    await pool.close()


@pytest.fixture(autouse=True)
async def clean_db(admin_sql: asyncpg.Pool) -> None:
    await admin_sql.execute("TRUNCATE samples, series, sites, rollup_pending RESTART IDENTITY")
    # Series ids start again at 1: what the in-process result caches hold is not theirs.
    await forget_everywhere()


@pytest.fixture
async def clean_sites(admin_sql: asyncpg.Pool) -> None:
    """No sites: for tests that list them (other areas' tests leave theirs behind)."""
    await admin_sql.execute("TRUNCATE sites RESTART IDENTITY")


@pytest.fixture(scope="session")
async def rollup_views(admin_sql: asyncpg.Pool) -> list[str]:
    """TimescaleDB continuous aggregates of `samples` (none on plain PostgreSQL). The
    rollup maintenance job is unscheduled for the session, so no test meets it at a random
    moment; tests that need it run it (`CALL run_job(...)`)."""
    if not await admin_sql.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"):
        return []
    await admin_sql.execute(
        "SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs "
        "WHERE proc_name = 'rollup_maintain'"
    )
    rows = await admin_sql.fetch(
        "SELECT view_name FROM timescaledb_information.continuous_aggregates"
    )
    return [r[0] for r in rows]


@pytest.fixture(autouse=True)
async def clean_rollups(clean_db: None, admin_sql: asyncpg.Pool, rollup_views: list[str]) -> None:
    """TRUNCATE does not reach continuous aggregates: re-materialise them from the now empty
    table, so no test reads another test's buckets (series ids restart at 1). Forced, and
    under the rollups' refresh lock, so it never collides with the maintenance job
    (migration 0040)."""
    if rollup_views:
        await admin_sql.execute("CALL rollup_rebuild()")


@pytest.fixture
async def sql(admin_sql: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    async with admin_sql.acquire() as conn:
        yield conn


@dataclass(frozen=True)
class LiveGateway:
    url: str  # full GraphQL endpoint
    base_url: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(settings: Settings) -> Iterator[LiveGateway]:
    """The real gateway for `settings` under uvicorn on a loopback port, in a background
    thread (its own event loop), from started until the block ends. The one way tests run a
    live in-process gateway; `start_gateway` (tests/gateway/conftest.py) runs a process."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("live gateway did not start")
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        yield LiveGateway(url=f"{base}/graphql", base_url=base)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="session")
def live_gateway(settings: Settings) -> Iterator[LiveGateway]:
    """The development-mode gateway, live on a loopback port (`serving`)."""
    with serving(settings) as gateway:
        yield gateway


# --- API keys and production mode (gateway security; see docs/security.md) ---------------


@pytest.fixture(scope="session")
async def api_keys(database_url: str) -> dict[str, str]:
    """Bearer tokens by scope: "read", "ingest", "admin" (one scope each) and "all" (every
    scope). Created once per session through the same code as `python -m gateway keys create`;
    send them as `{"Authorization": f"Bearer {api_keys['ingest']}"}`."""
    from db.engine import Database
    from gateway.keys import issue_key
    from resolvers.auth import Scope

    database = Database(database_url)
    try:
        tokens: dict[str, str] = {}
        for name, scopes in (
            ("read", [Scope.READ]),
            ("ingest", [Scope.INGEST]),
            ("admin", [Scope.ADMIN]),
            ("all", list(Scope)),
        ):
            issued = await issue_key(database, scopes, name=f"test-{name}")
            tokens[name] = issued.token
        return tokens
    finally:
        await database.dispose()


@pytest.fixture(scope="session")
def prod_settings(database_url: str) -> Settings:
    """Production settings (no anonymous access, no introspection)."""
    return Settings(env="prod", database_url=SecretStr(database_url))


@pytest.fixture(scope="session")
async def prod_app(prod_settings: Settings) -> AsyncIterator[Starlette]:
    async with started_app(prod_settings) as application:
        yield application


@pytest.fixture(scope="session")
async def prod_client(prod_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """httpx client for the production-mode app; pass `headers=` with a key per request."""
    async with client_for(prod_app) as c:
        yield c


@pytest.fixture
def throwaway_postgres() -> Iterator[Any]:
    """A started PostgreSQL cluster of this test's own (see tests/pg_cluster.py): `.url`,
    `.stop(mode)`, `.start()`. Migrations are not applied; destroyed after the test."""
    from tests.pg_cluster import ThrowawayPostgres

    cluster = ThrowawayPostgres()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
