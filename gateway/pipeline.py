"""The /graphql pipeline: HTTP checks, then parse, validate and execute, in one place
(docs/architecture.md walks through it stage by stage).

Stages, each a method below, each either passing on or ending the request with a response
from `gateway.responses`:

    (method)       POST only (405)
    authenticate   credentials (401, 503 if the key store is down)
    read_request   media type (415), body size (413) and time (408), JSON
                   object with a string `query` (400), or a persisted query's hash
                   resolved to its document (`gateway.persisted`; 200 with
                   PERSISTED_QUERY_NOT_FOUND, 400 on a hash mismatch)
    analyse        the document, parsed and analysed once per distinct text
                   (`gateway.documents`): the allow-list (403), limits, fragment cycles and
                   the operation that will execute (400, `gateway.analysis`)
    authorize      scopes of the operation's root fields (403)
    throttle       rate limits (429), then the key's cost window (429)
    admit          a free slot among the /graphql requests being served (503)
    claim_ingest   for an `ingest` call, one of its tenant's ingest slots (429)
    execute        strawberry's schema: execute the prepared document, validated once per
                   document (`gateway.documents.PreparedDocument`); a query past
                   `read_timeout_s` is cancelled, statements too (504)
    respond        the result as JSON in the media type the client accepts

Subscriptions (WebSocket, graphql-transport-ws) are routed to `gateway.subscriptions` on the
same path; it authenticates `connection_init` with the same `Authenticator` and runs the same
analysis, scope check and rate limit per subscribe message, then `schema.subscribe`. What each
stage learns goes into the request's `RequestState`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace

import orjson
import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.http import process_result
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from db import tenancy
from db.availability import unavailable_reason
from db.engine import Database
from gateway.analysis import DocumentRefused, select_operation
from gateway.auth import Authenticator, AuthError, ScopeMap
from gateway.cost import KeyCosts
from gateway.documents import Documents
from gateway.ingest_slots import IngestSlots, tenant_identity
from gateway.limits import document_limits
from gateway.persisted import PersistedQueries, parse_persisted_query, sha256_hex
from gateway.ratelimit import RateLimits
from gateway.responses import (
    GRAPHQL_RESPONSE,
    error_response,
    response_media_type,
    unavailable_response,
)
from gateway.settings import Settings
from gateway.state import RequestState
from gateway.tenants import TENANT_HEADER, TenantRefused, TenantResolver
from resolvers.auth import Principal, Scope as AuthScope
from resolvers.cache import ResultCache
from resolvers.codes import ErrorCode, UserErrorCode
from resolvers.context import Context, Limits

__all__ = ["GatewayContext", "GraphQLPipeline", "GraphQLRequest"]

log = logging.getLogger("gateway.pipeline")

_EXECUTABLE = {OperationType.QUERY, OperationType.MUTATION}


@dataclass
class GatewayContext(Context):
    """The resolvers' context plus the request's state, which the error masking extension
    fills in (database outages, error count)."""

    state: RequestState = field(default_factory=RequestState)


@dataclass(frozen=True)
class GraphQLRequest:
    query: str
    variables: dict[str, object] | None
    operation_name: str | None
    extensions: dict[str, object] | None
    persisted: str | None = None  # a verified hash to keep the document under once it passes


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    """The client disconnected before its body arrived: nothing to answer."""


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, or _BodyTooLarge as soon as more than `limit` bytes have arrived."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return f"ip:{client[0]}" if client else "ip:unknown"


def _bad_request(message: str, code: str = ErrorCode.BAD_REQUEST) -> Response:
    return error_response(400, message, code)


def _request_error_code(error: GraphQLError) -> str:
    """The code of an error raised before execution: parse, validation, variable coercion."""
    if isinstance(error, GraphQLSyntaxError):
        return ErrorCode.GRAPHQL_PARSE_FAILED
    if error.message.startswith("Variable '$"):
        return UserErrorCode.BAD_USER_INPUT  # graphql-core's variable coercion messages
    return ErrorCode.GRAPHQL_VALIDATION_FAILED


def _with_codes(errors: list[GraphQLError]) -> None:
    """Every error carries `extensions.code`; those raised before execution (no path) get
    theirs here. Resolver errors have theirs from the error masking extension."""
    for error in errors:
        if error.path is None and not (error.extensions or {}).get("code"):
            error.extensions = {**(error.extensions or {}), "code": _request_error_code(error)}


def _is_request_error(result: ExecutionResult) -> bool:
    """Parse, validation or variable-coercion failure: nothing executed, so no error has a
    path and there is no data."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


class GraphQLPipeline:
    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        database: Database,
        limits: Limits,
        authenticator: Authenticator,
        settings: Settings,
        rate_limits: RateLimits | None = None,
        key_costs: KeyCosts | None = None,
        persisted: PersistedQueries | None = None,
        cache: ResultCache | None = None,
    ) -> None:
        self.schema = schema
        self.cache = cache
        self.database = database
        self.limits = limits
        self.authenticator = authenticator
        self.scopes = ScopeMap(schema)
        self.settings = settings
        self.rate_limits = rate_limits or RateLimits({})
        self.key_costs = key_costs or KeyCosts(
            None, max_expensive=1 << 30, expensive_points=settings.max_request_points
        )
        self.document_limits = document_limits(settings)
        self.ingest_slots = IngestSlots(settings.ingest_max_concurrent)
        self.documents = Documents(self.document_limits)
        self.persisted = persisted or PersistedQueries.from_settings(
            enabled=settings.persisted_queries,
            size=settings.persisted_queries_size,
            only=settings.persisted_queries_only,
            documents=settings.persisted_documents,
        )
        self.tenants = TenantResolver(database, ttl_s=authenticator.cache.ttl_s or 30.0)
        self.serving = 0  # /graphql requests past the checks and not yet answered

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handle(scope, receive)
        if response is not None:  # None: the client is gone
            await response(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive) -> Response | None:
        state = RequestState.of(scope)
        headers = Headers(scope=scope)
        if scope["method"] != "POST":
            # No GET: a cross-site link or <img> could run queries with credentials the browser
            # holds. The IDE page for browsers is served in front of this (gateway.frontend).
            return error_response(
                405,
                "send GraphQL requests with POST (GET is not served)",
                ErrorCode.METHOD_NOT_ALLOWED,
                {"Allow": "POST"},
            )
        principal = await self.authenticate(scope, state, headers)
        if isinstance(principal, Response):
            return principal
        request = await self.read_request(receive, state, headers, principal)
        if not isinstance(request, GraphQLRequest):
            return request
        refused = (
            self.analyse(state, request)
            or self.authorize(state, principal)
            or await self.throttle(scope, state, principal)
            or self.admit(state)
            or self.claim_ingest(state, principal)
        )
        if refused is not None:
            return refused
        self.serving += 1
        try:
            result = await self.execute(state, principal, request)
        finally:
            self.serving -= 1
            if state.ingest_slot is not None:
                self.ingest_slots.release(state.ingest_slot)
        if isinstance(result, Response):
            return result
        return self.respond(state, result, response_media_type(headers))

    # -- stages ----------------------------------------------------------------------------

    async def authenticate(
        self, scope: Scope, state: RequestState, headers: Headers
    ) -> Principal | Response:
        """The caller's principal, or 401 (failed attempts count against the client's address
        when rate limits are on) or 503. /metrics uses this check too."""
        try:
            principal = await self.authenticator.authenticate(headers.get("authorization"))
        except AuthError as exc:
            if limited := await self._rate_limited(state, "anonymous", _client_ip(scope)):
                return limited
            challenge = 'Bearer realm="energy-gateway"'
            if exc.presented:
                challenge += ', error="invalid_token"'
            state.outcome = "unauthenticated"
            return error_response(
                401, str(exc), ErrorCode.UNAUTHENTICATED, {"WWW-Authenticate": challenge}
            )
        except Exception as exc:
            if (reason := unavailable_reason(exc)) is None:
                raise
            state.db_error = reason
            state.outcome = "unavailable"
            log.warning("database unavailable during key lookup: %s", reason)
            return unavailable_response(state.request_id, self.settings.retry_after_s)
        try:
            principal = await self.tenants.resolve(principal, headers.get(TENANT_HEADER))
        except TenantRefused as exc:
            state.outcome = "forbidden"
            return error_response(403, str(exc), ErrorCode.TENANT_REFUSED)
        except Exception as exc:
            if (reason := unavailable_reason(exc)) is None:
                raise
            state.db_error = reason
            state.outcome = "unavailable"
            return unavailable_response(state.request_id, self.settings.retry_after_s)
        state.principal = principal
        return principal

    async def read_request(
        self,
        receive: Receive,
        state: RequestState,
        headers: Headers,
        principal: Principal,
    ) -> GraphQLRequest | Response | None:
        """The request, read once: a JSON object, bounded in size and time."""
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
            return _bad_request("invalid Content-Length")
        try:
            async with asyncio.timeout(self.settings.body_timeout_s):
                body = await _read_body(receive, limit)
        except _BodyTooLarge:
            return too_large
        except _ClientGone:
            state.outcome = "disconnected"
            state.disconnected = True
            return None
        except TimeoutError:
            state.outcome = state.refused = "body_timeout"
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
            return _bad_request("the body is not valid JSON")
        if isinstance(payload, list):
            return _bad_request("batched operations are not supported")
        if isinstance(payload, dict) and isinstance(payload.get("extensions"), dict):
            if (found := self._persisted_query(payload)) is not None:
                if isinstance(found, Response):
                    state.outcome = "rejected"
                    return found
                query, digest = found
                request = _graphql_request({**payload, "query": query})
                if isinstance(request, GraphQLRequest):
                    request = replace(request, persisted=digest)
                return request
        return _graphql_request(payload)

    def analyse(self, state: RequestState, request: GraphQLRequest) -> Response | None:
        """The allow-list, limits and the operation that will execute, before validation. A
        document that does not parse passes (unless the allow-list refuses it): `execute`
        reports the syntax error before anything runs."""
        document = self.documents.get(request.query)
        # The canonical form is computed only in allow-list mode (once per document).
        if self.persisted.only and not self.persisted.allowed(document.canonical):
            state.outcome = "rejected"
            return error_response(
                403,
                "this gateway runs registered documents only, and this is not one of them",
                ErrorCode.DOCUMENT_NOT_ALLOWED,
            )
        try:
            if (refused := document.refused()) is not None:
                raise refused
            if document.analysis is not None:
                state.operation = select_operation(document.analysis, request.operation_name)
        except DocumentRefused as refused:
            state.outcome = "rejected"
            return _bad_request(str(refused), refused.code)
        state.document = document
        if request.persisted is not None and document.node is not None:
            self.persisted.store(request.persisted, request.query)
        return None

    def authorize(self, state: RequestState, principal: Principal) -> Response | None:
        """403 unless the key holds the scope of every root field the operation selects."""
        operation = state.operation
        if operation is None:
            return None
        missing = self.scopes.needed(operation.kind, operation.root_fields) - principal.scopes
        if not missing:
            return None
        wanted = ", ".join(sorted(s.value for s in missing))
        state.outcome = "forbidden"
        return error_response(
            403, f"this operation needs the scope(s): {wanted}", ErrorCode.FORBIDDEN
        )

    async def throttle(
        self, scope: Scope, state: RequestState, principal: Principal
    ) -> Response | None:
        """The rate limit of the request's rule, then the key's cost window."""
        if self.rate_limits.enabled:
            if principal.key_id is None:
                rule, identity = "anonymous", _client_ip(scope)
            else:
                ingests = state.operation is not None and "ingest" in state.operation.root_fields
                rule, identity = ("ingest" if ingests else "requests"), principal.key_id
            if limited := await self._rate_limited(state, rule, identity):
                return limited
        if principal.key_id is None:
            return None
        wait = self.key_costs.retry_after_s(principal.key_id)
        if wait is None:
            return None
        state.outcome = "rate_limited"
        state.refused = "key_cost"
        return error_response(
            429,
            f"this key has spent its points for the current window; retry in {wait} s",
            ErrorCode.COST_LIMITED,
            {"Retry-After": str(wait)},
        )

    def admit(self, state: RequestState) -> Response | None:
        """503 when `max_graphql_requests` are already being served; /healthz, /readyz and
        /metrics do not count."""
        if self.serving < self.settings.max_graphql_requests:
            return None
        state.outcome = state.refused = "overloaded"
        log.warning("refused: %d /graphql requests already served", self.serving)
        return unavailable_response(state.request_id, self.settings.retry_after_s)

    def claim_ingest(self, state: RequestState, principal: Principal) -> Response | None:
        """429 when the caller's tenant already runs `ingest_max_concurrent` ingest calls in
        this process (`gateway.ingest_slots`); otherwise the request holds one slot."""
        operation = state.operation
        if operation is None or "ingest" not in operation.root_fields:
            return None
        identity = tenant_identity(principal)
        if self.ingest_slots.claim(identity):
            state.ingest_slot = identity
            return None
        state.outcome = "rate_limited"
        state.refused = "ingest_concurrency"
        return error_response(
            429,
            f"{self.ingest_slots.limit} ingest calls of this tenant are already running; "
            "retry when one has finished",
            ErrorCode.CONCURRENCY_LIMITED,
            {"Retry-After": "1"},
        )

    async def execute(
        self, state: RequestState, principal: Principal, request: GraphQLRequest
    ) -> ExecutionResult | Response:
        """The operation's result. A query gets `read_timeout_s` in all: past it, the
        execution is cancelled, which cancels every resolver still waiting and, through
        asyncpg, the statements they run (the server stops them), and the answer is 504."""
        timeout = None
        if state.operation is not None and state.operation.kind == "query":
            timeout = self.settings.read_timeout_s
        limit = asyncio.timeout(timeout)
        try:
            async with limit:
                return await self._execute(state, principal, request)
        except TimeoutError:
            if not limit.expired():
                raise  # not ours: a client-side command timeout or the like
            state.outcome = "timeout"
            log.warning("query cancelled after the read time limit of %s s", timeout)
            return error_response(
                504,
                f"the query did not finish within {timeout:g} s and was cancelled; ask for "
                "less (a shorter range, a coarser `every`) or retry later",
                ErrorCode.READ_TIMEOUT,
            )

    async def _execute(
        self, state: RequestState, principal: Principal, request: GraphQLRequest
    ) -> ExecutionResult | Response:
        account = self.key_costs.account(principal.key_id) if principal.key_id else None
        state.account = account
        context = GatewayContext(
            database=self.database,
            limits=self.limits,
            principal=principal,
            request_id=state.request_id,
            ingested=state.rows,  # the resolvers tally ingest outcomes for the log/metrics
            account=account,
            cache=self.cache,
            state=state,
        )
        try:
            # Every query of the db layer, and row-level security, act for this tenant.
            with tenancy.acting_for(principal.tenant):
                return await self.schema.execute(
                    request.query,
                    variable_values=request.variables,
                    context_value=context,
                    operation_name=request.operation_name,
                    allowed_operation_types=_EXECUTABLE,
                    operation_extensions=request.extensions,
                )
        except InvalidOperationTypeError as exc:
            state.outcome = "rejected"
            return _bad_request(exc.as_http_error_reason("POST"))
        finally:
            if account is not None:
                account.close()
                if account.refused:
                    state.refused = account.refused

    def respond(self, state: RequestState, result: ExecutionResult, media_type: str) -> Response:
        """200 with the result; 503 + Retry-After when a resolver met a database outage. With
        `application/graphql-response+json`, a request error (nothing executed) is a 400
        without `data`, as GraphQL over HTTP specifies; `application/json` keeps 200."""
        _with_codes(result.errors or [])
        body = process_result(result)
        status = 200
        headers: dict[str, str] = {}
        if state.unavailable:
            status = 503
            headers["Retry-After"] = str(self.settings.retry_after_s)
        elif media_type == GRAPHQL_RESPONSE and _is_request_error(result):
            status = 400
            body.pop("data", None)
        return Response(orjson.dumps(body), status, headers=headers, media_type=media_type)

    # -- helpers ---------------------------------------------------------------------------

    def _persisted_query(self, payload: dict[str, object]) -> tuple[str, str] | Response | None:
        """Apollo's automatic persisted queries: (query, verified hash), a refusal, or None
        when the request has no `persistedQuery` extension."""
        extensions = payload["extensions"]
        assert isinstance(extensions, dict)
        if "persistedQuery" not in extensions:
            return None
        if not self.persisted.enabled:
            # Apollo's clients stop sending hashes after this answer.
            return error_response(
                200, "PersistedQueryNotSupported", ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED
            )
        persisted = parse_persisted_query(extensions["persistedQuery"])
        if isinstance(persisted, str):
            return _bad_request(persisted)
        query = payload.get("query")
        if query is None:
            found = self.persisted.lookup(persisted.sha256)
            if found is None:
                # 200, not cached by anyone: the client sends the query with the hash next.
                return error_response(
                    200,
                    "PersistedQueryNotFound",
                    ErrorCode.PERSISTED_QUERY_NOT_FOUND,
                    {"Cache-Control": "private, no-cache, must-revalidate"},
                )
            return found, persisted.sha256
        if isinstance(query, str) and sha256_hex(query) != persisted.sha256:
            return _bad_request(
                "`sha256Hash` is not the SHA-256 of `query`",
                ErrorCode.PERSISTED_QUERY_HASH_MISMATCH,
            )
        if not isinstance(query, str):
            return None  # `_graphql_request` refuses it
        return query, persisted.sha256

    async def _rate_limited(self, state: RequestState, rule: str, identity: str) -> Response | None:
        if not self.rate_limits.enabled:
            return None
        refusal = await self.rate_limits.hit(rule, identity)
        if refusal is None:
            return None
        state.outcome = "rate_limited"
        state.rate_limited = rule
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


def _graphql_request(payload: object) -> GraphQLRequest | Response:
    """The GraphQL-over-HTTP request parameters, each of its type, or 400."""
    if not isinstance(payload, dict):
        return _bad_request("the body must be a JSON object")
    query = payload.get("query")
    if not isinstance(query, str) or not query:
        return _bad_request("no GraphQL query found in the request: send `query` as a string")
    name = payload.get("operationName")
    if name is not None and not isinstance(name, str):
        return _bad_request("`operationName` must be a string")
    variables = payload.get("variables")
    if variables is not None and not isinstance(variables, dict):
        return _bad_request("`variables` must be an object")
    extensions = payload.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        return _bad_request("`extensions` must be an object")
    return GraphQLRequest(query, variables, name, extensions)
