"""Every HTTP response the gateway builds itself: GraphQL results and error refusals, in the
media type the client accepts (docs/api.md, "GraphQL over HTTP").

An error body is always JSON, `{"errors": [{"message": ..., "extensions": {"code": ...}}]}`,
whatever the status. A GraphQL result goes out as `application/graphql-response+json` when the
client's `Accept` names it (GraphQL over HTTP, https://graphql.github.io/graphql-over-http/),
otherwise as `application/json` with the statuses clients of this gateway have always seen.
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
    "result_response",
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
    *,
    media_type: str = JSON,
) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return Response(orjson.dumps(body), status, headers=headers, media_type=media_type)


def unavailable_response(
    request_id: str, retry_after_s: int, *, media_type: str = JSON
) -> Response:
    """503 with Retry-After: the database is unreachable or the gateway is full."""
    return error_response(
        503,
        f"Service temporarily unavailable, retry later (request id: {request_id})",
        ErrorCode.UNAVAILABLE,
        {"Retry-After": str(retry_after_s)},
        media_type=media_type,
    )


def result_response(
    body: bytes, *, status: int, media_type: str, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(body, status, headers=headers, media_type=media_type)
