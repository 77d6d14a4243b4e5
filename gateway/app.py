"""The app factory: one Starlette app with /graphql, /healthz, /readyz, /metrics and the
dashboard's pages (gateway.frontend)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from db.engine import Database, PoolConfig
from gateway.auth import Authenticator
from gateway.changes import RESYNC, ChangeFeed, FeedEvent
from gateway.compression import Compression
from gateway.cost import KeyCosts
from gateway.frontend import STATIC_DIR, FrontendPages, GraphiQLPage, frontend_routes
from gateway.health import Lifecycle, health_endpoints
from gateway.metrics import CONTENT_TYPE, GatewayMetrics
from gateway.middleware import RequestContext
from gateway.pipeline import GraphQLPipeline
from gateway.pool_plan import plan_pools
from gateway.ratelimit import RateLimits
from gateway.responses import error_response
from gateway.result_cache import CacheCollector, CacheService
from gateway.schema import served_schema
from gateway.settings import Settings
from gateway.state import RequestState
from gateway.subscriptions import SubscriptionMetrics, SubscriptionServer
from resolvers.auth import Scope
from resolvers.codes import ErrorCode
from resolvers.context import Limits
from resolvers.live import LiveUpdates

__all__ = ["LOCAL_ORIGINS", "create_app", "database_from", "limits_from", "pool_from"]

log = logging.getLogger("gateway.app")

# Development mode's CORS default when `cors_origins` is empty: a frontend dev server on this
# machine (Vite on http://localhost:5173 and the like) may call the API.
LOCAL_ORIGINS = r"http://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]+)?"


def limits_from(settings: Settings) -> Limits:
    return Limits(
        max_ingest_points=settings.max_ingest_points,
        max_request_points=settings.max_request_points,
        max_page_size=settings.max_page_size,
    )


def pool_from(settings: Settings) -> PoolConfig:
    """The read pool of one worker (`gateway.pool_plan`)."""
    return plan_pools(settings).read


def database_from(settings: Settings) -> Database:
    """The worker's `Database`: read and ingest pools sized from the connection budget;
    `BudgetTooSmall` if the settings cannot fit it."""
    plan = plan_pools(settings)
    return Database(
        settings.require_database_url(),
        plan.read,
        plan.ingest,
        tenant_role=settings.db_tenant_role or None,
    )


def create_app(settings: Settings) -> Starlette:
    database = database_from(settings)
    schema = served_schema(settings)
    authenticator = Authenticator(
        database,
        allow_anonymous=settings.dev,
        touch_every_s=settings.key_touch_every_s,
        cache_ttl_s=settings.key_cache_ttl_s,
        cache_size=settings.key_cache_size,
    )
    rate_limits = RateLimits(
        {
            "requests": settings.rate_limit_requests,
            "ingest": settings.rate_limit_ingest,
            "anonymous": settings.rate_limit_anonymous,
        }
    )
    caching = CacheService(settings)
    graphql = GraphQLPipeline(
        schema,
        database=database,
        limits=limits_from(settings),
        authenticator=authenticator,
        settings=settings,
        rate_limits=rate_limits,
        key_costs=KeyCosts(
            settings.key_cost_budget,
            max_expensive=settings.key_max_expensive,
            expensive_points=settings.expensive_points,
            max_expensive_total=settings.max_expensive_requests,
        ),
        cache=caching.cache,
    )
    # One LISTEN per process for committed sample changes (gateway.changes).
    changes = ChangeFeed(database.url, connect_timeout_s=settings.db_connect_timeout_s)
    metrics = GatewayMetrics(database)
    metrics.registry.register(CacheCollector(caching.cache))
    live = LiveUpdates(
        database,
        queue_size=settings.subscription_queue_size,
        max_points=settings.max_request_points,
    )

    def on_change(event: FeedEvent) -> None:
        if event is RESYNC:
            live.resync()
        else:
            live.changed(event)

    changes.subscribe(on_change)
    subscriptions = SubscriptionServer(
        graphql, live, settings, SubscriptionMetrics(metrics.registry)
    )
    lifecycle = Lifecycle()
    healthz, readyz = health_endpoints(database, settings, lifecycle)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        lifecycle.draining = False
        try:
            async with asyncio.timeout(settings.db_connect_timeout_s + 1):
                await database.start()
            lifecycle.started = True
        except Exception as exc:
            # Start anyway: /readyz stays 503 and retries, requests get 503 until it is back.
            log.warning("database unreachable at startup: %s", type(exc).__name__)
        authenticator.start()
        changes.start()
        caching.start(changes)
        try:
            yield
        finally:
            lifecycle.draining = True
            # uvicorn closes open sockets with 1012 before this; any left (other servers) too.
            await subscriptions.close_all()
            await changes.stop()
            await live.stop()
            await authenticator.stop()
            await caching.stop()
            await database.dispose()

    async def metrics_endpoint(request: Request) -> Response:
        if not settings.metrics_public:
            state = RequestState.of(request.scope)
            principal = await graphql.authenticate(request.scope, state, request.headers)
            if isinstance(principal, Response):
                return principal
            if not principal.scopes & {Scope.READ, Scope.ADMIN}:
                return error_response(403, "metrics need the read scope", ErrorCode.FORBIDDEN)
            if not principal.platform_key:
                # Metrics span every tenant (series keys in the freshness gauge, key ids).
                return error_response(403, "metrics need a platform key", ErrorCode.FORBIDDEN)
        return Response(await metrics.render(), media_type=CONTENT_TYPE)

    middleware = [
        Middleware(RequestContext, metrics=metrics, retry_after_s=settings.retry_after_s),
        Middleware(
            Compression,
            minimum_bytes=settings.compress_min_bytes,
            codings=settings.compress_codings,
        ),
    ]
    if settings.cors_origins or settings.dev:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_origin_regex=None if settings.cors_origins else LOCAL_ORIGINS,
                allow_methods=["POST"],
                allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                expose_headers=["X-Request-ID", "Retry-After"],
                max_age=600,
            )
        )
    app = Starlette(
        routes=[
            Route(
                "/graphql",
                # Every method reaches the pipeline, which refuses all but POST with JSON; a
                # browser's GET for HTML gets the GraphiQL page.
                GraphiQLPage(graphql, FrontendPages(STATIC_DIR)),
            ),
            # Subscriptions: graphql-transport-ws on the same path (gateway.subscriptions).
            WebSocketRoute("/graphql", subscriptions),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            *frontend_routes(STATIC_DIR),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.database = database
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.lifecycle = lifecycle
    app.state.authenticator = authenticator
    app.state.pipeline = graphql
    app.state.cache = caching.cache
    app.state.changes = changes
    app.state.live = live
    app.state.subscriptions = subscriptions
    return app
