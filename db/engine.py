"""The `Database`: two async SQLAlchemy engines over asyncpg, with the session pinned to UTC.

`read` serves queries and small writes (series, sites, keys); `ingest` serves sample writes
and deletions. Each is its own connection pool, so a backfill that keeps every ingest
connection busy never takes one a dashboard needs (docs/limits.md, "Connection pools").

Inside a request (db/tenancy.py) a connection of either pool runs as the tenant role, which
row-level security applies to (migration 0081), with `gateway.tenant` naming the tenant;
outside requests it runs as the role it logged in as. Both are session settings, written when
a connection is checked out for a scope other than the one it last served, so a gateway
serving one tenant's traffic pays nothing per query (docs/security.md, Row-level security).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from sqlalchemy import event, exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from db import tenancy
from db.capabilities import Capabilities, detect_capabilities

__all__ = ["TENANT_ROLE", "Database", "Pool", "PoolConfig", "driver_connection", "sqlalchemy_url"]

TENANT_ROLE = "gateway_tenant"  # created by migration 0081
_SCOPE = "tenant_scope"  # connection info key: (role, tenant) the session is set to
_ROLE = "tenant_scope_role"  # connection info key: the role the session is set to
_UNSCOPED = ("none", "")


@dataclass(frozen=True, kw_only=True)
class PoolConfig:
    size: int = 5  # connections the pool keeps open once opened
    max_overflow: int = 5  # more, opened under load and closed when returned
    timeout_s: float = 3.0
    recycle_s: int = 1800
    statement_timeout_ms: int = 30_000
    connect_timeout_s: float = 5.0  # asyncpg's default of 60 s would hold a request that long


def sqlalchemy_url(url: str) -> str:
    """Accept the usual `postgres://` / `postgresql://` forms and select the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must start with postgresql:// or postgres://")


def _engine(url: str, pool: PoolConfig, application_name: str) -> AsyncEngine:
    engine = create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool.size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.timeout_s,
        pool_recycle=pool.recycle_s,
        # No pre-ping (a BEGIN / `;` / ROLLBACK round trip per checkout): `_closed_check`
        # below refuses connections the server has closed, at no cost.
        pool_pre_ping=False,
        connect_args={
            "timeout": pool.connect_timeout_s,
            # A client-side bound too, for a server that stopped answering (network
            # partition, SIGSTOP): the statement timeout alone never fires then.
            "command_timeout": pool.statement_timeout_ms / 1000 + 2,
            # Output must not depend on the server's default zone.
            "server_settings": {
                "timezone": "UTC",
                "application_name": application_name,
                "statement_timeout": str(pool.statement_timeout_ms),
            },
        },
    )
    event.listen(engine.sync_engine.pool, "checkout", _closed_check)
    return engine


class Pool:
    """One engine, hence one connection pool, named for the metrics (`read`, `ingest`).
    Every checkout is scoped to the current request's tenant (`_scope`)."""

    def __init__(
        self, name: str, url: str, config: PoolConfig, tenant_role: str | None = TENANT_ROLE
    ) -> None:
        self.name = name
        self.config = config
        self.tenant_role = tenant_role
        # The pool shows in pg_stat_activity: energy-gateway/read, energy-gateway/ingest.
        self.engine: AsyncEngine = _engine(url, config, f"energy-gateway/{name}")

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            await _scope(await conn.get_raw_connection(), self.tenant_role)
            yield conn

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled asyncpg connection without SQLAlchemy's Connection around it, for hot
        reads sent as prepared statements (no transaction is opened: each statement runs on
        its own). Same pool, same checks and tenant scope as `connect`."""
        fairy: PoolProxiedConnection = await greenlet_spawn(self.engine.sync_engine.pool.connect)
        try:
            await _scope(fairy, self.tenant_role)
            driver = fairy.driver_connection
            assert isinstance(driver, asyncpg.Connection)
            yield driver
        finally:
            await greenlet_spawn(fairy.close)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        async with self.connect() as conn, conn.begin():
            yield conn


async def _scope(raw: PoolProxiedConnection, tenant_role: str | None) -> None:
    """Set the session's role and tenant for the current scope, outside any transaction
    (so a rollback cannot undo them), when they differ from what it last served."""
    settings = tenancy.session_settings()
    wanted = _UNSCOPED
    if settings is not None:
        wanted = (tenant_role or "none", settings["tenant"])
    if raw.info.get(_SCOPE) == wanted:
        return
    driver = raw.driver_connection
    assert isinstance(driver, asyncpg.Connection)
    raw.info.pop(_SCOPE, None)  # unknown until both statements succeed
    if raw.info.get(_ROLE) != wanted[0]:
        # A temporary table (the ingest staging table) belongs to the role that created
        # it; the other role could not use it.
        await driver.execute("DISCARD TEMP")
    await driver.execute(
        "SELECT set_config('role', $1, false), set_config('gateway.tenant', $2, false)",
        *wanted,
    )
    raw.info[_ROLE] = wanted[0]
    raw.info[_SCOPE] = wanted


# The ingest pool of a `Database` built without one (command-line tools, benchmarks' setup).
DEFAULT_INGEST = PoolConfig(size=2, max_overflow=0)


class Database:
    """Owns the connection pools. Every query checks out its own connection, because
    GraphQL resolves sibling fields concurrently and one asyncpg connection runs one
    statement at a time. `connect` and `begin` draw from the read pool; sample writes use
    `ingest.connect()` (db.samples)."""

    def __init__(
        self,
        url: str,
        pool: PoolConfig | None = None,
        ingest: PoolConfig | None = None,
        *,
        tenant_role: str | None = TENANT_ROLE,
    ) -> None:
        """`tenant_role`: the role requests run as (None: the login role, which must then be
        neither superuser nor the tables' owner for row-level security to apply)."""
        self.url = url
        self.tenant_role = tenant_role
        self.read = Pool("read", url, pool or PoolConfig(), tenant_role)
        self.ingest = Pool("ingest", url, ingest or DEFAULT_INGEST, tenant_role)
        self.capabilities = Capabilities()

    @property
    def pools(self) -> tuple[Pool, Pool]:
        return self.read, self.ingest

    @property
    def engine(self) -> AsyncEngine:
        """The read pool's engine (what most code means by "the database")."""
        return self.read.engine

    async def start(self) -> Capabilities:
        """Detect what the server offers (TimescaleDB or plain PostgreSQL)."""
        async with self.connect() as conn:
            self.capabilities = await detect_capabilities(conn)
        return self.capabilities

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        async with self.read.connect() as conn:
            yield conn

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        """A read-pool asyncpg connection for prepared hot reads (`Pool.acquire`)."""
        async with self.read.acquire() as conn:
            yield conn

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        async with self.read.begin() as conn:
            yield conn

    async def dispose(self) -> None:
        for pool in self.pools:
            await pool.engine.dispose()


def _closed_check(
    dbapi_connection: object, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
) -> None:
    """Pool checkout: a connection whose socket the server closed (restart, terminated
    backend, failover) is discarded and the pool tries another or opens a new one. asyncpg
    sees the close as soon as the event loop reads the socket's EOF, so this costs no round
    trip; a connection that dies later fails its statement, which `db.availability` turns
    into a 503, and SQLAlchemy or this check discards it."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    if isinstance(driver, asyncpg.Connection) and driver.is_closed():
        raise sa_exc.DisconnectionError("connection closed by the server")


async def driver_connection(conn: AsyncConnection) -> asyncpg.Connection:
    """The raw asyncpg connection under an SQLAlchemy connection (for COPY and arrays)."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, asyncpg.Connection)
    return driver
