"""The `Database`: one async SQLAlchemy engine over asyncpg, with the session pinned to UTC.

Inside a request (db/tenancy.py) a connection runs as the tenant role, which row-level
security applies to (migration 0081), with `gateway.tenant` naming the tenant; outside
requests it runs as the role it logged in as. Both are session settings, written when a
connection is checked out for a scope other than the one it last served, so a gateway
serving one tenant's traffic pays nothing per query (docs/security.md, Row-level security).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from db import tenancy
from db.capabilities import Capabilities, detect_capabilities

__all__ = ["TENANT_ROLE", "Database", "PoolConfig", "driver_connection", "sqlalchemy_url"]

TENANT_ROLE = "gateway_tenant"  # created by migration 0081
_SCOPE = "tenant_scope"  # connection info key: (role, tenant) the session is set to
_ROLE = "tenant_scope_role"  # connection info key: the role the session is set to
_UNSCOPED = ("none", "")


@dataclass(frozen=True, kw_only=True)
class PoolConfig:
    size: int = 5
    max_overflow: int = 5
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


class Database:
    """Owns the connection pool. Every query checks out its own connection, because
    GraphQL resolves sibling fields concurrently and one asyncpg connection runs one
    statement at a time."""

    def __init__(
        self, url: str, pool: PoolConfig | None = None, *, tenant_role: str | None = TENANT_ROLE
    ) -> None:
        """`tenant_role`: the role requests run as (None: the login role, which must then be
        neither superuser nor the tables' owner for row-level security to apply)."""
        pool = pool or PoolConfig()
        self.url = url
        self.tenant_role = tenant_role
        self.engine: AsyncEngine = create_async_engine(
            sqlalchemy_url(url),
            pool_size=pool.size,
            max_overflow=pool.max_overflow,
            pool_timeout=pool.timeout_s,
            pool_recycle=pool.recycle_s,
            pool_pre_ping=True,
            connect_args={
                "timeout": pool.connect_timeout_s,
                # A client-side bound too, for a server that stopped answering (network
                # partition, SIGSTOP): the statement timeout alone never fires then.
                "command_timeout": pool.statement_timeout_ms / 1000 + 2,
                # Output must not depend on the server's default zone.
                "server_settings": {
                    "timezone": "UTC",
                    "application_name": "energy-gateway",
                    "statement_timeout": str(pool.statement_timeout_ms),
                },
            },
        )
        self.capabilities = Capabilities()

    async def start(self) -> Capabilities:
        """Detect what the server offers (TimescaleDB or plain PostgreSQL)."""
        async with self.connect() as conn:
            self.capabilities = await detect_capabilities(conn)
        return self.capabilities

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            await self._scope(conn)
            yield conn

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            await self._scope(conn)
            async with conn.begin():
                yield conn

    async def _scope(self, conn: AsyncConnection) -> None:
        """Set the session's role and tenant for the current scope, outside any transaction
        (so a rollback cannot undo them), when they differ from what it last served."""
        settings = tenancy.session_settings()
        wanted = _UNSCOPED
        if settings is not None:
            wanted = (self.tenant_role or "none", settings["tenant"])
        raw = await conn.get_raw_connection()
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

    async def dispose(self) -> None:
        await self.engine.dispose()


async def driver_connection(conn: AsyncConnection) -> asyncpg.Connection:
    """The raw asyncpg connection under an SQLAlchemy connection (for COPY and arrays)."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, asyncpg.Connection)
    return driver
