"""The outermost middleware: request id, one access log line, HTTP metrics, last-resort errors.

`X-Request-ID` is accepted when it looks like a UUID (so clients can correlate retries) and
replaced otherwise (so it cannot inject text into logs); it is echoed on every response.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.availability import unavailable_reason
from gateway.metrics import ROUTES, GatewayMetrics
from gateway.responses import error_response, unavailable_response
from gateway.state import RequestState
from resolvers.codes import ErrorCode

__all__ = ["RequestContext", "request_id_from"]

_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}")

access_log = logging.getLogger("gateway.access")
log = logging.getLogger("gateway.errors")


def request_id_from(header: str | None) -> str:
    if header and _UUID.fullmatch(header.strip()):
        return header.strip().lower()
    return str(uuid.uuid4())


class RequestContext:
    def __init__(self, app: ASGIApp, *, metrics: GatewayMetrics, retry_after_s: int) -> None:
        self.app = app
        self.metrics = metrics
        self.retry_after_s = retry_after_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_from(Headers(scope=scope).get("x-request-id"))
        state = RequestState.of(scope)
        state.request_id = request_id
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_started = True
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
            if not response_started and state.disconnected:
                status = 499  # the client left before its request arrived
        except asyncio.CancelledError:
            if not response_started:
                status = 499  # client went away (nginx's code), not a server error
            raise
        except Exception as exc:
            reason = unavailable_reason(exc)
            if reason is not None:
                state.db_error = reason
                log.warning("database unavailable (%s): %s", reason, type(exc).__name__)
                response = unavailable_response(request_id, self.retry_after_s)
            else:
                log.error("unhandled error", exc_info=exc)
                response = error_response(
                    500, f"Internal error (request id: {request_id})", ErrorCode.INTERNAL_ERROR
                )
            if not response_started:
                await response(scope, receive, send_with_id)
        finally:
            duration = time.perf_counter() - started
            self._record(scope, state, status, duration)
            structlog.contextvars.unbind_contextvars("request_id")

    def _record(self, scope: Scope, state: RequestState, status: int, duration: float) -> None:
        path = scope.get("path", "")
        route = path if path in ROUTES else "other"
        method = scope.get("method", "")
        self.metrics.http_requests.labels(route, method, str(status)).inc()
        self.metrics.http_duration.labels(route).observe(duration)
        if state.db_error is not None:
            self.metrics.db_errors.labels(state.db_error).inc()
        if state.rate_limited is not None:
            self.metrics.rate_limited.labels(state.rate_limited).inc()
        if state.refused is not None:
            self.metrics.refused.labels(state.refused).inc()
        operation = state.operation
        rows = state.rows
        if route == "/graphql" and method == "POST":
            outcome = _outcome(status, state)
            kind = operation.kind if operation else "unknown"
            name = self.metrics.operation_label(operation.name if operation else None)
            self.metrics.graphql_operations.labels(name, kind, outcome).inc()
            if rows:
                self.metrics.observe_rows(rows)
        access_log.info(
            "request",
            extra={
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": round(duration * 1000, 2),
                "key_id": state.key_id,
                "operation": operation.name[:100] if operation and operation.name else None,
                "operation_type": operation.kind if operation else None,
                "rows": rows or None,
                "db_error": state.db_error,
                "refused": state.refused,
            },
        )


def _outcome(status: int, state: RequestState) -> str:
    if state.outcome is not None:
        return state.outcome
    if status == 503:
        return "unavailable"
    if status >= 500:
        return "error"
    if status >= 400:
        return "rejected"
    if state.graphql_errors:
        return "error"
    return "ok"
