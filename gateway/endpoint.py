"""The /graphql endpoint: HTTP-level checks in front of the strawberry view.

Order: method -> credentials (401) -> content type (415) -> body size (413, streamed bytes
counted) and read time (408) -> JSON object, no batches (400) -> document analysis: limits,
fragment cycles and the operation that will execute (400, `gateway.analysis`) -> scopes of its
root fields (403) -> rate limits (429, when configured) -> the key's cost window (429) -> a
free slot among the requests being served (503). Only then does the view parse, validate and
execute. What the checks learn (principal, operation) goes into the ASGI scope's `state` for
the view, the access log and the metrics; docs/limits.md describes every limit.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.availability import unavailable_reason
from gateway.analysis import DocumentRefused, Operation, analyse_document, select_operation
from gateway.auth import Authenticator, AuthError, ScopeMap
from gateway.cost import KeyCosts, RequestAccount
from gateway.limits import document_limits
from gateway.ratelimit import RateLimits
from gateway.settings import Settings
from resolvers.auth import Principal, Scope as AuthScope
from resolvers.codes import ErrorCode

__all__ = [
    "GraphQLEndpoint",
    "error_response",
    "parsed_body",
    "request_account",
    "unavailable_response",
]

# (body, decoded JSON) of the request being served, so the view does not parse it again.
parsed_body: ContextVar[tuple[bytes, object] | None] = ContextVar("parsed_body", default=None)
# The key's cost account for the request being served, for the resolvers' context.
request_account: ContextVar[RequestAccount | None] = ContextVar("request_account", default=None)

log = logging.getLogger("gateway.endpoint")


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    """The client disconnected before its body arrived: nothing to answer."""


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
            raise ClientGone
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
        key_costs: KeyCosts | None = None,
    ) -> None:
        self.view = view
        self.authenticator = authenticator
        self.scopes = scopes
        self.settings = settings
        self.rate_limits = rate_limits or RateLimits({})
        self.key_costs = key_costs or KeyCosts(
            None, max_expensive=1 << 30, expensive_points=settings.max_request_points
        )
        self.limits = document_limits(settings)
        self.serving = 0  # /graphql requests past the checks and not yet answered

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
        state: dict[str, Any] = scope.setdefault("state", {})
        response = await self._check(scope, receive)
        if response is None:
            return  # the client is gone
        if isinstance(response, Response):
            await response(scope, receive, send)
            return
        if self.serving >= self.settings.max_graphql_requests:
            state["outcome"] = state["refused"] = "overloaded"
            log.warning("refused: %d /graphql requests already served", self.serving)
            overloaded = unavailable_response(self.settings, str(state.get("request_id", "-")))
            await overloaded(scope, receive, send)
            return
        principal: Principal = state["principal"]
        account = self.key_costs.account(principal.key_id) if principal.key_id else None
        body_token = parsed_body.set(state.pop("parsed_body", None))
        account_token = request_account.set(account)
        self.serving += 1
        try:
            await self.view(scope, response, send)
        finally:
            self.serving -= 1
            request_account.reset(account_token)
            parsed_body.reset(body_token)
            if account is not None:
                account.close()
                if account.refused:
                    state["refused"] = account.refused

    async def _check(self, scope: Scope, receive: Receive) -> Response | Receive | None:
        """The checks in order; a Response ends the request, a Receive continues it, None
        means the client has gone."""
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
        body = await self._read_json(scope, receive, state, headers, principal)
        if body is None or isinstance(body, Response):
            return body
        refused = (
            self._authorize(state, principal)
            or await self._throttle(scope, state, principal)
            or self._cost_window(state, principal)
        )
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
        self,
        scope: Scope,
        receive: Receive,
        state: dict[str, Any],
        headers: Headers,
        principal: Principal,
    ) -> bytes | Response | None:
        """The body, bounded in size and time, parsed once (kept in `state` for the view);
        the operation that will execute noted."""
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return error_response(
                415,
                "send the request as Content-Type: application/json",
                ErrorCode.UNSUPPORTED_MEDIA,
            )
        _normalise_content_type(scope)
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
            async with asyncio.timeout(self.settings.body_timeout_s):
                body = await read_body(receive, limit)
        except BodyTooLarge:
            return too_large
        except ClientGone:
            state["outcome"] = state["disconnected"] = "disconnected"
            return None
        except TimeoutError:
            state["outcome"] = state["refused"] = "body_timeout"
            log.warning("refused: body not received within %s s", self.settings.body_timeout_s)
            return error_response(
                408,
                f"the request body did not arrive within {self.settings.body_timeout_s:g} s",
                ErrorCode.REQUEST_TIMEOUT,
                {"Connection": "close"},
            )
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return error_response(400, "the body is not valid JSON", ErrorCode.BAD_REQUEST)
        if isinstance(payload, list):
            return error_response(
                400, "batched operations are not supported", ErrorCode.BAD_REQUEST
            )
        state["parsed_body"] = (body, payload)
        refused = self._analyse(state, payload)
        return refused or body

    def _analyse(self, state: dict[str, Any], payload: object) -> Response | None:
        """Limits and the operation that will execute, before validation. A document that
        does not parse passes: the view reports the syntax error before anything runs."""
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return None
        name = payload.get("operationName")
        if name is not None and not isinstance(name, str):
            return error_response(400, "`operationName` must be a string", ErrorCode.BAD_REQUEST)
        try:
            analysis = analyse_document(payload["query"], self.limits)
            if analysis is not None:
                state["operation"] = select_operation(analysis, name)
        except DocumentRefused as refused:
            state["outcome"] = "rejected"
            return error_response(400, str(refused), refused.code)
        return None

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

    def _cost_window(self, state: dict[str, Any], principal: Principal) -> Response | None:
        if principal.key_id is None:
            return None
        wait = self.key_costs.retry_after_s(principal.key_id)
        if wait is None:
            return None
        state["outcome"] = "rate_limited"
        state["refused"] = "key_cost"
        return error_response(
            429,
            f"this key has spent its points for the current window; retry in {wait} s",
            ErrorCode.COST_LIMITED,
            {"Retry-After": str(wait)},
        )


def _normalise_content_type(scope: Scope) -> None:
    """The view compares the media type case-sensitively; media types are case-insensitive
    (RFC 9110 8.3.1), so it gets the checked type in lower case."""
    scope["headers"] = [
        (name, b"application/json" if name == b"content-type" else value)
        for name, value in scope["headers"]
    ]
