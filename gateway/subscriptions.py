"""GraphQL subscriptions over WebSocket: the `graphql-transport-ws` protocol on /graphql
(docs/api.md, Subscriptions; the protocol: github.com/enisdenjo/graphql-ws, PROTOCOL.md).

Written here rather than through strawberry's handler because each subscribe message goes
through the same stages as a POST (`gateway.pipeline`): the key from `connection_init`, the
document analysis (depth, aliases, fields), the scope check, the rate limit; and because a
slow client must cost a bounded queue and then its connection (resolvers.live).

One `SubscriptionServer` per app. Per connection: a reader that handles the client's
messages, one task per active subscription that runs strawberry's `Schema.subscribe` and
sends `next` messages, and one send lock (messages of one socket go out one at a time).

Close codes (the protocol's, plus ours): 4400 invalid message, 4401 subscribe before
`connection_ack`, 4403 missing or wrong key, 4406 subprotocol not `graphql-transport-ws`,
4408 no `connection_init` in time, 4409 a subscription id already in use, 4429 a second
`connection_init` or too many connections of this key, 1008 slow consumer (its queue was
full), 1013 the key store (database) is unreachable, 1012 the server restarts or stops
(uvicorn closes open sockets with it on shutdown; so does the app's lifespan for any left).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import Counter as Tally
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError
from prometheus_client import CollectorRegistry, Counter, Gauge
from starlette.types import Receive, Scope, Send
from strawberry.http import process_result
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from db import tenancy
from db.availability import unavailable_reason
from gateway.analysis import DocumentRefused, analyse_document, select_operation
from gateway.auth import AuthError
from gateway.errors import ErrorMasking
from gateway.pipeline import GatewayContext, GraphQLPipeline, _with_codes
from gateway.settings import Settings
from gateway.state import RequestState
from gateway.tenants import TENANT_HEADER, TenantRefused
from resolvers.auth import Principal
from resolvers.codes import ErrorCode
from resolvers.errors import GatewayError
from resolvers.live import LiveSession, LiveUpdates

__all__ = ["PROTOCOL", "SubscriptionMetrics", "SubscriptionServer"]

log = logging.getLogger("gateway.subscriptions")

PROTOCOL = "graphql-transport-ws"
_SEND_TIMEOUT_S = 5.0  # a close frame to a client that stopped reading: give up after this


class Close:
    """Close codes; docs/api.md lists them."""

    SLOW_CONSUMER = 1008
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    INVALID_MESSAGE = 4400
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403
    SUBPROTOCOL = 4406
    INIT_TIMEOUT = 4408
    DUPLICATE_ID = 4409
    TOO_MANY = 4429


class SubscriptionMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.connections = Gauge(
            "ws_connections", "Open GraphQL WebSocket connections.", registry=registry
        )
        self.subscriptions = Gauge(
            "ws_subscriptions", "Active subscriptions, by root field.", ["field"], registry=registry
        )
        self.messages = Counter(
            "ws_messages_sent", "`next` messages sent to subscribers.", registry=registry
        )
        self.closed = Counter(
            "ws_closed",
            "WebSocket connections the server closed, by close code.",
            ["code"],
            registry=registry,
        )
        for field in ("samplesAdded", "aggregateUpdated"):
            self.subscriptions.labels(field)


@dataclass(frozen=True)
class _Subscribe:
    id: str
    query: str
    variables: dict[str, object] | None
    operation_name: str | None
    extensions: dict[str, object] | None


def _subscribe_message(message: dict[str, Any]) -> _Subscribe | None:
    """The subscribe message's fields, each of its type, or None (close 4400)."""
    sid, payload = message.get("id"), message.get("payload")
    if not isinstance(sid, str) or not sid or not isinstance(payload, dict):
        return None
    query, variables = payload.get("query"), payload.get("variables")
    name, extensions = payload.get("operationName"), payload.get("extensions")
    if not isinstance(query, str) or not query:
        return None
    if variables is not None and not isinstance(variables, dict):
        return None
    if name is not None and not isinstance(name, str):
        return None
    if extensions is not None and not isinstance(extensions, dict):
        return None
    return _Subscribe(sid, query, variables, name, extensions)


def _header(payload: object, header: str) -> str | None:
    """A header-like entry of the connection_init payload (`Authorization`, `X-Tenant`), its
    name in any case: browsers cannot set headers on a WebSocket."""
    if not isinstance(payload, dict):
        return None
    for name, value in payload.items():
        if isinstance(name, str) and name.lower() == header.lower() and isinstance(value, str):
            return value
    return None


def _authorization(payload: object) -> str | None:
    return _header(payload, "authorization")


def _error(message: str, code: str) -> list[dict[str, object]]:
    return [{"message": message, "extensions": {"code": code}}]


class SubscriptionServer:
    def __init__(
        self,
        pipeline: GraphQLPipeline,
        hub: LiveUpdates,
        settings: Settings,
        metrics: SubscriptionMetrics,
    ) -> None:
        self.pipeline = pipeline
        self.hub = hub
        self.settings = settings
        self.metrics = metrics
        self.connections: set[_Connection] = set()
        self.per_key: Tally[str] = Tally()
        self.masking = ErrorMasking(suggestions=settings.dev)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        connection = _Connection(self, scope, receive, send)
        self.connections.add(connection)
        self.metrics.connections.inc()
        try:
            await connection.run()
        finally:
            self.connections.discard(connection)
            self.metrics.connections.dec()
            if connection.key_slot is not None:
                self.per_key[connection.key_slot] -= 1
                if self.per_key[connection.key_slot] <= 0:
                    del self.per_key[connection.key_slot]

    async def close_all(self, code: int = Close.SERVICE_RESTART, reason: str = "") -> None:
        """Close every open connection (the app's shutdown)."""
        for connection in list(self.connections):
            connection.request_close(code, reason or "the server is restarting")
        with contextlib.suppress(TimeoutError):  # each close frame waits 5 s at most anyway
            async with asyncio.timeout(_SEND_TIMEOUT_S + 1):
                await asyncio.gather(*(c.done.wait() for c in list(self.connections)))


class _Connection:
    def __init__(self, server: SubscriptionServer, scope: Scope, receive: Receive, send: Send):
        self.server = server
        self.scope = scope
        self.receive = receive
        self._send = send
        self.send_lock = asyncio.Lock()
        self.principal: Principal | None = None
        self.key_slot: str | None = None  # counted against this key's connections
        self.init_received = False
        self.operations: dict[str, asyncio.Task[None]] = {}
        self.close_code: tuple[int, str] | None = None
        self.close_requested = asyncio.Event()
        self.done = asyncio.Event()
        self.connection_id = secrets.token_hex(8)
        self.session = LiveSession(
            server.hub, lambda: self.request_close(Close.SLOW_CONSUMER, "slow consumer")
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            if (await self.receive())["type"] != "websocket.connect":
                return
            offered = self.scope.get("subprotocols") or []
            if PROTOCOL not in offered:
                await self._send({"type": "websocket.accept"})
                await self._close(Close.SUBPROTOCOL, "Subprotocol not acceptable")
                return
            await self._send({"type": "websocket.accept", "subprotocol": PROTOCOL})
            reader = asyncio.create_task(self._read())
            closer = asyncio.create_task(self.close_requested.wait())
            await asyncio.wait({reader, closer}, return_when=asyncio.FIRST_COMPLETED)
            for task in (reader, closer):
                task.cancel()
            await self._stop_operations()
            if self.close_code is not None:
                await self._close(*self.close_code)
        finally:
            self.done.set()

    def request_close(self, code: int, reason: str) -> None:
        if self.close_code is None:
            self.close_code = (code, reason)
            if code == Close.SLOW_CONSUMER:
                log.warning("dropping slow WebSocket consumer %s", self.connection_id)
        self.close_requested.set()

    async def _close(self, code: int, reason: str) -> None:
        self.server.metrics.closed.labels(str(code)).inc()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(_SEND_TIMEOUT_S):
                await self._send({"type": "websocket.close", "code": code, "reason": reason})

    async def _stop_operations(self) -> None:
        tasks = list(self.operations.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.operations.clear()

    async def _send_json(self, message: dict[str, Any]) -> None:
        async with self.send_lock:
            await self._send({"type": "websocket.send", "text": orjson.dumps(message).decode()})

    # -- the client's messages -------------------------------------------------------------

    async def _read(self) -> None:
        """Handle messages until the client leaves or a close is requested."""
        timeout = self.server.settings.ws_init_timeout_s
        try:
            async with asyncio.timeout(timeout):
                while self.principal is None and not self.close_requested.is_set():
                    if not await self._handle_next():
                        return
        except TimeoutError:
            self.request_close(Close.INIT_TIMEOUT, "Connection initialisation timeout")
            return
        while not self.close_requested.is_set():
            if not await self._handle_next():
                return

    async def _handle_next(self) -> bool:
        """Receive and handle one message; False once the client has gone."""
        event = await self.receive()
        if event["type"] == "websocket.disconnect":
            return False
        text = event.get("text")
        try:
            message = orjson.loads(text) if text is not None else None
        except orjson.JSONDecodeError:
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            self.request_close(Close.INVALID_MESSAGE, "Invalid message received")
            return True
        await self._dispatch(message)
        return True

    async def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "connection_init":
            await self._connection_init(message.get("payload"))
        elif kind == "ping":
            await self._send_json({"type": "pong"})
        elif kind == "pong":
            pass
        elif kind == "subscribe":
            if self.principal is None:
                self.request_close(Close.UNAUTHORIZED, "Unauthorized")
                return
            subscribe = _subscribe_message(message)
            if subscribe is None:
                self.request_close(Close.INVALID_MESSAGE, "Invalid subscribe message")
                return
            await self._subscribe(subscribe)
        elif kind == "complete":
            sid = message.get("id")
            if isinstance(sid, str) and (task := self.operations.pop(sid, None)) is not None:
                task.cancel()
        else:
            self.request_close(Close.INVALID_MESSAGE, f"Unknown message type {kind[:40]!r}")

    async def _connection_init(self, payload: object) -> None:
        if self.init_received:
            self.request_close(Close.TOO_MANY, "Too many initialisation requests")
            return
        self.init_received = True
        server = self.server
        authenticator = server.pipeline.authenticator
        try:
            principal = await authenticator.authenticate(_authorization(payload))
            # A platform key may act for a tenant, as with the X-Tenant header on POST.
            principal = await server.pipeline.tenants.resolve(
                principal, _header(payload, TENANT_HEADER)
            )
        except AuthError as exc:
            limits = server.pipeline.rate_limits
            if limits.enabled:
                client = self.scope.get("client")
                await limits.hit("anonymous", f"ip:{client[0]}" if client else "ip:unknown")
            self.request_close(Close.FORBIDDEN, f"Forbidden: {exc}"[:120])
            return
        except TenantRefused as exc:
            self.request_close(Close.FORBIDDEN, f"Forbidden: {exc}"[:120])
            return
        except Exception as exc:
            if unavailable_reason(exc) is None:
                raise
            self.request_close(Close.TRY_AGAIN_LATER, "the key store is unavailable; retry")
            return
        if principal.key_id is not None:
            if server.per_key[principal.key_id] >= server.settings.max_ws_connections_per_key:
                self.request_close(Close.TOO_MANY, "too many connections for this key")
                return
            server.per_key[principal.key_id] += 1
            self.key_slot = principal.key_id
        self.principal = principal
        await self._send_json({"type": "connection_ack"})

    # -- subscriptions ---------------------------------------------------------------------

    async def _subscribe(self, request: _Subscribe) -> None:
        if request.id in self.operations:
            self.request_close(
                Close.DUPLICATE_ID, f"Subscriber for {request.id[:40]} already exists"
            )
            return
        refused = await self._refusal(request)
        if refused is not None:
            await self._send_json({"id": request.id, "type": "error", "payload": refused})
            return
        task = asyncio.create_task(self._run(request), name=f"subscription-{request.id[:40]}")
        self.operations[request.id] = task

    async def _refusal(self, request: _Subscribe) -> list[dict[str, object]] | None:
        """The errors that refuse a subscribe before it runs, as the POST path would."""
        assert self.principal is not None
        pipeline = self.server.pipeline
        limit = self.server.settings.max_subscriptions_per_connection
        if len(self.operations) >= limit:
            return _error(
                f"at most {limit} subscriptions per connection; complete one first",
                ErrorCode.TOO_MANY_SUBSCRIPTIONS,
            )
        try:
            analysis = analyse_document(request.query, pipeline.document_limits)
            operation = select_operation(analysis, request.operation_name) if analysis else None
        except DocumentRefused as refused:
            return _error(str(refused), refused.code)
        if operation is not None:
            if operation.kind != "subscription":
                return _error(
                    "send queries and mutations with POST; WebSocket serves subscriptions",
                    ErrorCode.BAD_REQUEST,
                )
            needed = pipeline.scopes.needed(operation.kind, operation.root_fields)
            if missing := needed - self.principal.scopes:
                wanted = ", ".join(sorted(s.value for s in missing))
                return _error(f"this operation needs the scope(s): {wanted}", ErrorCode.FORBIDDEN)
        if pipeline.rate_limits.enabled and self.principal.key_id is not None:
            refusal = await pipeline.rate_limits.hit("requests", self.principal.key_id)
            if refusal is not None:
                return _error(
                    f"rate limit of {refusal.limit} per window reached for 'requests'; "
                    f"retry in {refusal.retry_after_s} s",
                    ErrorCode.RATE_LIMITED,
                )
        return None

    async def _run(self, request: _Subscribe) -> None:
        """One subscription: strawberry's stream of results, each sent as `next`."""
        assert self.principal is not None
        pipeline = self.server.pipeline
        metrics = self.server.metrics
        context = GatewayContext(
            database=pipeline.database,
            limits=pipeline.limits,
            principal=self.principal,
            request_id=f"{self.connection_id}:{request.id[:40]}",
            live=self.session,
            state=RequestState(),
        )
        fields = [
            f for f in ("samplesAdded", "aggregateUpdated") if f in request.query
        ]  # the gauge's label: the field names (few, fixed) the document mentions
        for field in fields:
            metrics.subscriptions.labels(field).inc()
        completed = True
        # Key lookups and every read of the subscription act for the principal's tenant.
        with tenancy.acting_for(self.principal.tenant):
            try:
                stream = await pipeline.schema.subscribe(
                    request.query,
                    variable_values=request.variables,
                    context_value=context,
                    operation_name=request.operation_name,
                    operation_extensions=request.extensions,
                )
                async with contextlib.aclosing(stream):
                    completed = await self._send_results(request.id, stream, context)
            except asyncio.CancelledError:
                completed = False  # the client completed it, or the connection is closing
                raise
            finally:
                for field in fields:
                    metrics.subscriptions.labels(field).dec()
                if self.operations.get(request.id) is asyncio.current_task():
                    del self.operations[request.id]
                if completed and not self.close_requested.is_set():
                    with contextlib.suppress(Exception):
                        await self._send_json({"id": request.id, "type": "complete"})

    def _coded(self, error: GraphQLError, context: GatewayContext) -> GraphQLError:
        """The error as a POST would report it. An error creating the subscription's
        stream (an unknown series) reaches here without a path, which the masking extension
        would pass through uncoded; its GatewayError carries the code."""
        original = error.original_error
        if isinstance(original, GatewayError):
            return GraphQLError(
                str(original),
                nodes=error.nodes,
                path=error.path,
                extensions={"code": original.code},
            )
        return self.server.masking._process(error, context)

    async def _send_results(
        self,
        sid: str,
        stream: AsyncGenerator[PreExecutionError | ExecutionResult, None],
        context: GatewayContext,
    ) -> bool:
        """Send each result; True if the stream ended (then `complete` follows)."""
        first = True
        async for result in stream:
            errors = [self._coded(e, context) for e in result.errors or []]
            _with_codes(errors)
            result.errors = errors
            if first and isinstance(result, PreExecutionError):
                payload = [e.formatted for e in errors]
                await self._send_json({"id": sid, "type": "error", "payload": payload})
                return False
            first = False
            body = process_result(result)
            await self._send_json({"id": sid, "type": "next", "payload": body})
            self.server.metrics.messages.inc()
        return True
