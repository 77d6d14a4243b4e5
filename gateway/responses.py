"""The HTTP responses the gateway builds itself: every refusal (400, 401, 403, 405, 408, 413,
415, 429, 500, 503), and the choice of media type for GraphQL results, which
`gateway.pipeline.GraphQLPipeline.respond` writes (docs/api.md, "GraphQL over HTTP").

A refusal is always `application/json`, `{"errors": [{"message": ..., "extensions": {"code":
...}}]}`, whatever the status and the `Accept` header. A result goes out as
`application/graphql-response+json` when the client's `Accept` names it, otherwise as
`application/json` with the statuses clients of this gateway have always seen.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.datastructures import Headers
from starlette.responses import Response

from resolvers.codes import ErrorCode

__all__ = [
    "GRAPHQL_RESPONSE",
    "JSON",
    "error_response",
    "response_media_type",
    "unavailable_response",
]

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"


def response_media_type(headers: Headers) -> str:
    """`application/graphql-response+json` when the client accepts it (and does not rank it
    below plain JSON), else `application/json`. Media types are case-insensitive."""
    ranked: dict[str, float] = {}
    for part in headers.get("accept", "").lower().split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranked[media] = max(quality, ranked.get(media, 0.0))
    wanted = ranked.get(GRAPHQL_RESPONSE, 0.0)
    if wanted > 0 and wanted >= ranked.get(JSON, 0.0):
        return GRAPHQL_RESPONSE
    return JSON


def error_response(
    status: int,
    message: str,
    code: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return Response(orjson.dumps(body), status, headers=headers, media_type=JSON)


def unavailable_response(
    request_id: str, retry_after_s: int, reason: str | None = None
) -> Response:
    """503 with Retry-After: the database is unreachable or the gateway is full (or, for
    `/readyz`, not ready: `reason` says why)."""
    why = f" ({reason})" if reason else ""
    return error_response(
        503,
        f"Service temporarily unavailable{why}, retry later (request id: {request_id})",
        ErrorCode.UNAVAILABLE,
        {"Retry-After": str(retry_after_s)},
    )
