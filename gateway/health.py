"""Health endpoints. `/healthz` is liveness: the process answers, nothing else is checked (a
database blip must not restart every replica). `/readyz` is readiness: not shutting down, the
database answers within the timeout, and its settings make acknowledged commits durable; when
not ready, the shared 503 (`gateway.responses.unavailable_response`) says why."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from db.engine import Database
from db.health import check_durability
from gateway.responses import unavailable_response
from gateway.settings import Settings
from gateway.state import RequestState

__all__ = ["Lifecycle", "health_endpoints"]

log = logging.getLogger("gateway.health")

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass
class Lifecycle:
    """Set `draining` as soon as shutdown starts so readiness fails at once."""

    draining: bool = False
    started: bool = False  # capabilities detected (TimescaleDB or not)


def health_endpoints(
    database: Database, settings: Settings, lifecycle: Lifecycle
) -> tuple[Endpoint, Endpoint]:
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    def not_ready(request: Request, reason: str) -> Response:
        request_id = RequestState.of(request.scope).request_id
        return unavailable_response(request_id, settings.retry_after_s, reason)

    async def readyz(request: Request) -> Response:
        if lifecycle.draining:
            return not_ready(request, "shutting down")
        try:
            async with asyncio.timeout(settings.readiness_timeout_s):
                if not lifecycle.started:
                    await database.start()
                    lifecycle.started = True
                durability = await check_durability(database)
        except Exception as exc:
            RequestState.of(request.scope).db_error = "readiness"
            log.warning("readiness: database unavailable: %s", type(exc).__name__)
            return not_ready(request, "database unavailable")
        if settings.require_durability and not durability.safe:
            log.error("readiness: unsafe durability settings: %s", durability)
            return not_ready(request, "unsafe durability settings")
        return JSONResponse({"status": "ready"})

    return healthz, readyz
