"""The /graphql endpoint: HTTP-level checks in front of the strawberry view.

Order: method -> credentials (401) -> content type (415) -> body size (413, streamed bytes
counted) -> JSON object, no batches (400) -> scopes of the operation's root fields (403) ->
rate limits (429, when configured).
Only then does the view parse, validate and execute. What the checks learn (principal,
operation) goes into the ASGI scope's `state` for the view, the access log and the metrics.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.availability import unavailable_reason
from gateway.auth import Authenticator, AuthError, Operation, ScopeMap, analyse_operation
from gateway.ratelimit import RateLimits
from gateway.settings import Settings
from resolvers.auth import Principal, Scope as AuthScope
from resolvers.codes import ErrorCode

__all__ = ["GraphQLEndpoint", "error_response", "parsed_body", "unavailable_response"]

# (body, decoded JSON) of the request being served, so the view does not parse it again.
parsed_body: ContextVar[tuple[bytes, object] | None] = ContextVar("parsed_body", default=None)

log = logging.getLogger("gateway.endpoint")


class BodyTooLarge(Exception):
    pass


def error_response(
    status: int, message: str, code: str, headers: dict[str, str] | None = None
) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


def unavailable_response(settings: Settings, request_id: str) -> Response:
    return error_response(
        503,
        f"Service temporarily unavailable, retry later (request id: {request_id})",
        ErrorCode.UNAVAILABLE,
        {"Retry-After": str(settings.retry_after_s)},
    )


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, or BodyTooLarge as soon as more than `limit` bytes have arrived."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BodyTooLarge  # nothing to answer; the client is gone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # later calls wait for a disconnect

    return replay


def _client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return f"ip:{client[0]}" if client else "ip:unknown"


class GraphQLEndpoint:
    def __init__(
        self,
        view: ASGIApp,
        *,
        authenticator: Authenticator,
        scopes: ScopeMap,
        settings: Settings,
        rate_limits: RateLimits | None = None,
    ) -> None:
        self.view = view
        self.authenticator = authenticator
        self.scopes = scopes
        self.settings = settings
        self.rate_limits = rate_limits or RateLimits({})

    async def _rate_limited(
        self, state: dict[str, Any], rule: str, identity: str
    ) -> Response | None:
        if not self.rate_limits.enabled:
            return None
        refusal = await self.rate_limits.hit(rule, identity)
        if refusal is None:
            return None
        state["outcome"] = "rate_limited"
        state["rate_limited"] = rule
        return error_response(
            429,
            f"rate limit of {refusal.limit} per window reached for '{rule}'; "
            f"retry in {refusal.retry_after_s} s",
            ErrorCode.RATE_LIMITED,
            refusal.headers(),
        )

    def _body_limit(self, principal: Principal) -> int:
        if AuthScope.INGEST in principal.scopes:
            return max(self.settings.max_ingest_body_bytes, self.settings.max_body_bytes)
        return self.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._check(scope, receive)
        if isinstance(response, Response):
            await response(scope, receive, send)
            return
        body_token = parsed_body.set(scope["state"].pop("parsed_body", None))
        try:
            await self.view(scope, response, send)
        finally:
            parsed_body.reset(body_token)

    async def _check(self, scope: Scope, receive: Receive) -> Response | Receive:
        """The checks in order; a Response ends the request, a Receive continues it."""
        state: dict[str, Any] = scope.setdefault("state", {})
        headers = Headers(scope=scope)
        method = scope["method"]
        if method not in ("GET", "POST"):
            return error_response(405, "use POST", ErrorCode.METHOD_NOT_ALLOWED, {"Allow": "POST"})
        principal = await self._authenticate(scope, state, headers)
        if isinstance(principal, Response):
            return principal
        if method == "GET":
            return receive  # the IDE page in development; the view refuses GET queries
        body = await self._read_json(receive, state, headers, principal)
        if isinstance(body, Response):
            return body
        refused = self._authorize(state, principal) or await self._throttle(scope, state, principal)
        return refused or _replay(body, receive)

    async def _authenticate(
        self, scope: Scope, state: dict[str, Any], headers: Headers
    ) -> Principal | Response:
        try:
            principal = await self.authenticator.authenticate(headers.get("authorization"))
        except AuthError as exc:
            if limited := await self._rate_limited(state, "anonymous", _client_ip(scope)):
                return limited  # failed attempts count against the client's address
            challenge = 'Bearer realm="energy-gateway"'
            if exc.presented:
                challenge += ', error="invalid_token"'
            state["outcome"] = "unauthenticated"
            return error_response(
                401, str(exc), ErrorCode.UNAUTHENTICATED, {"WWW-Authenticate": challenge}
            )
        except Exception as exc:
            if (reason := unavailable_reason(exc)) is None:
                raise
            state["db_error"] = reason
            state["outcome"] = "unavailable"
            log.warning("database unavailable during key lookup: %s", reason)
            return unavailable_response(self.settings, str(state.get("request_id", "-")))
        state["principal"] = principal
        state["key_id"] = principal.key_id
        return principal

    async def _read_json(
        self, receive: Receive, state: dict[str, Any], headers: Headers, principal: Principal
    ) -> bytes | Response:
        """The body, bounded, parsed once (kept in `state` for the view); operation noted."""
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return error_response(
                415,
                "send the request as Content-Type: application/json",
                ErrorCode.UNSUPPORTED_MEDIA,
            )
        limit = self._body_limit(principal)
        too_large = error_response(
            413, f"request body larger than {limit} bytes", ErrorCode.PAYLOAD_TOO_LARGE
        )
        try:
            if int(headers.get("content-length", "0")) > limit:
                return too_large
        except ValueError:
            return error_response(400, "invalid Content-Length", ErrorCode.BAD_REQUEST)
        try:
            body = await read_body(receive, limit)
        except BodyTooLarge:
            return too_large
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return error_response(400, "the body is not valid JSON", ErrorCode.BAD_REQUEST)
        if isinstance(payload, list):
            return error_response(
                400, "batched operations are not supported", ErrorCode.BAD_REQUEST
            )
        state["parsed_body"] = (body, payload)
        if isinstance(payload, dict) and isinstance(payload.get("query"), str):
            name = payload.get("operationName")
            operation = analyse_operation(
                payload["query"], name if isinstance(name, str) else None, self.settings.max_tokens
            )
            if operation is not None:
                state["operation"] = operation
        return body

    def _authorize(self, state: dict[str, Any], principal: Principal) -> Response | None:
        """403 unless the key holds the scope of every root field the operation selects. A
        document that does not parse passes: the view rejects it before anything runs."""
        operation: Operation | None = state.get("operation")
        if operation is None:
            return None
        missing = self.scopes.needed(operation.kind, operation.root_fields) - principal.scopes
        if not missing:
            return None
        wanted = ", ".join(sorted(s.value for s in missing))
        state["outcome"] = "forbidden"
        return error_response(
            403, f"this operation needs the scope(s): {wanted}", ErrorCode.FORBIDDEN
        )

    async def _throttle(
        self, scope: Scope, state: dict[str, Any], principal: Principal
    ) -> Response | None:
        if not self.rate_limits.enabled:
            return None
        operation: Operation | None = state.get("operation")
        if principal.key_id is None:
            return await self._rate_limited(state, "anonymous", _client_ip(scope))
        ingests = operation is not None and "ingest" in operation.root_fields
        return await self._rate_limited(
            state, "ingest" if ingests else "requests", principal.key_id
        )
