"""The `Database`: two async SQLAlchemy engines over asyncpg, with the session pinned to UTC.

`read` serves queries and small writes (series, sites, keys); `ingest` serves sample writes
and deletions. Each is its own connection pool, so a backfill that keeps every ingest
connection busy never takes one a dashboard needs (docs/limits.md, "Connection pools").
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

from db.capabilities import Capabilities, detect_capabilities

__all__ = ["Database", "Pool", "PoolConfig", "driver_connection", "sqlalchemy_url"]


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
    """One engine, hence one connection pool, named for the metrics (`read`, `ingest`)."""

    def __init__(self, name: str, url: str, config: PoolConfig) -> None:
        self.name = name
        self.config = config
        # The pool shows in pg_stat_activity: energy-gateway/read, energy-gateway/ingest.
        self.engine: AsyncEngine = _engine(url, config, f"energy-gateway/{name}")

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled asyncpg connection without SQLAlchemy's Connection around it, for hot
        reads sent as prepared statements (no transaction is opened: each statement runs on
        its own). Same pool, same checks as `connect`."""
        fairy: PoolProxiedConnection = await greenlet_spawn(self.engine.sync_engine.pool.connect)
        try:
            driver = fairy.driver_connection
            assert isinstance(driver, asyncpg.Connection)
            yield driver
        finally:
            await greenlet_spawn(fairy.close)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as conn:
            yield conn


# The ingest pool of a `Database` built without one (command-line tools, benchmarks' setup).
DEFAULT_INGEST = PoolConfig(size=2, max_overflow=0)


class Database:
    """Owns the connection pools. Every query checks out its own connection, because
    GraphQL resolves sibling fields concurrently and one asyncpg connection runs one
    statement at a time. `connect` and `begin` draw from the read pool; sample writes use
    `ingest.connect()` (db.samples)."""

    def __init__(
        self, url: str, pool: PoolConfig | None = None, ingest: PoolConfig | None = None
    ) -> None:
        self.url = url
        self.read = Pool("read", url, pool or PoolConfig())
        self.ingest = Pool("ingest", url, ingest or DEFAULT_INGEST)
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
