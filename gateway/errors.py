"""Error masking: clients see readable messages for expected errors and only
"Internal error (request id: ...)" for anything else; the full traceback goes to the log
under the same request id. No SQL, driver or stack text reaches a client.

A value PostgreSQL refuses (SQLSTATE class 22, e.g. a NUL character) is the caller's input:
BAD_USER_INPUT, still without the driver's text. A database that is down, restarting,
overloaded or timing out is not a bug either: those errors turn the whole response into HTTP
503 with `Retry-After`, so clients retry (ingest is idempotent), and are logged as warnings
without a traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from db.availability import sqlstate_of, unavailable_reason
from gateway.state import RequestState
from resolvers.codes import ErrorCode, UserErrorCode
from resolvers.errors import GatewayError

__all__ = ["ErrorMasking"]

log = logging.getLogger("gateway.errors")


def _request_id(context: Any) -> str:
    return str(getattr(context, "request_id", "-"))


def _state(context: Any) -> RequestState:
    """The HTTP request's state; a throwaway one when the schema runs outside HTTP (the demo
    loader, tests on the schema)."""
    state = getattr(context, "state", None)
    return state if isinstance(state, RequestState) else RequestState()


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def _without_suggestions(error: GraphQLError) -> GraphQLError:
    """graphql-core suggests names ("Did you mean 'first'?") for arguments, enum values and
    input fields too, which gives the schema away even with introspection off."""
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=error.extensions,
    )


class ErrorMasking(SchemaExtension):
    def __init__(self, *, suggestions: bool = True) -> None:
        self.suggestions = suggestions

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is None or not errors:
            return
        context = self.execution_context.context
        result.errors = [self._process(error, context) for error in errors]
        _state(context).graphql_errors = len(errors)

    def _process(self, error: GraphQLError, context: Any) -> GraphQLError:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError) or error.path is None:
            # Parse, validation, variable coercion and limit errors: readable by design. They
            # have no path because nothing executed; a scalar's parser rejecting a literal
            # (`from: ""`) arrives here with its ValueError as original_error.
            return error if self.suggestions else _without_suggestions(error)
        if isinstance(original, GatewayError):
            return GraphQLError(
                str(original),
                nodes=error.nodes,
                path=error.path,
                extensions={"code": original.code},
            )
        request_id = _request_id(context)
        state = _state(context)
        reason = unavailable_reason(original)
        if reason is not None:
            state.unavailable = True  # the whole response becomes 503 + Retry-After
            state.db_error = reason
            log.warning(
                "database unavailable (%s): %s",
                reason,
                type(original).__name__,
                extra={"request_id": request_id, "path": error.path},
            )
            return GraphQLError(
                f"Service temporarily unavailable, retry later (request id: {request_id})",
                nodes=error.nodes,
                path=error.path,
                extensions={"code": ErrorCode.UNAVAILABLE, "requestId": request_id},
            )
        sqlstate = sqlstate_of(original)
        if sqlstate is not None:
            state.db_error = sqlstate
        if sqlstate is not None and sqlstate.startswith("22"):
            # Data exception: a value the resolvers let through but PostgreSQL refuses (a NUL
            # character in a string, a timestamp out of its range). The caller's input, not an
            # outage or a crash; the driver's text still stays out of the response.
            log.warning(
                "database rejected a value (SQLSTATE %s)",
                sqlstate,
                exc_info=original,
                extra={"request_id": request_id, "path": error.path},
            )
            return GraphQLError(
                f"A value in this request cannot be stored or compared (request id: {request_id})",
                nodes=error.nodes,
                path=error.path,
                extensions={"code": UserErrorCode.BAD_USER_INPUT, "requestId": request_id},
            )
        log.error(
            "unexpected error in resolver",
            exc_info=original,
            extra={"request_id": request_id, "path": error.path},
        )
        return GraphQLError(
            f"Internal error (request id: {request_id})",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": ErrorCode.INTERNAL_ERROR, "requestId": request_id},
        )
