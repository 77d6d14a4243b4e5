"""The app factory: one Starlette app with /graphql, /healthz and /readyz."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from db.engine import Database, PoolConfig
from gateway.graphql_app import GatewayGraphQL
from gateway.schema import served_schema
from gateway.settings import Settings
from resolvers.context import Limits

__all__ = ["create_app", "limits_from", "pool_from"]


def limits_from(settings: Settings) -> Limits:
    return Limits(
        max_ingest_points=settings.max_ingest_points,
        max_request_points=settings.max_request_points,
        max_page_size=settings.max_page_size,
    )


def pool_from(settings: Settings) -> PoolConfig:
    return PoolConfig(
        size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        timeout_s=settings.db_pool_timeout_s,
        statement_timeout_ms=settings.db_statement_timeout_ms,
    )


def create_app(settings: Settings) -> Starlette:
    database = Database(settings.require_database_url(), pool_from(settings))
    graphql = GatewayGraphQL(
        served_schema(settings), database=database, limits=limits_from(settings), dev=settings.dev
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await database.start()
        try:
            yield
        finally:
            await database.dispose()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            async with database.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
    app.state.database = database
    app.state.settings = settings
    return app
