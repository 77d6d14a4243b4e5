"""Error masking: clients see readable messages for expected errors and only
"Internal error (request id: ...)" for anything else; the full traceback goes to the log
under the same request id. No SQL, driver or stack text reaches a client."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from resolvers.errors import GatewayError

__all__ = ["ErrorMasking"]

log = logging.getLogger("gateway.errors")


def _request_id(context: Any) -> str:
    return str(getattr(context, "request_id", "-"))


class ErrorMasking(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is None or not errors:
            return
        request_id = _request_id(self.execution_context.context)
        result.errors = [self._process(error, request_id) for error in errors]

    def _process(self, error: GraphQLError, request_id: str) -> GraphQLError:
        original = error.original_error
        if original is None:
            return error  # parse, validation and limit errors: readable by design
        if isinstance(original, GatewayError):
            return GraphQLError(
                str(original),
                nodes=error.nodes,
                path=error.path,
                extensions={"code": original.code},
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
            extensions={"code": "INTERNAL_ERROR", "requestId": request_id},
        )
