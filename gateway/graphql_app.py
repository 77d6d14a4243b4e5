"""The strawberry ASGI view: orjson bodies, per-request context, no GET queries."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from db.engine import Database
from resolvers.auth import Principal
from resolvers.context import Context, Limits

__all__ = ["GatewayGraphQL"]

_NO_SCOPES = Principal(key_id=None, scopes=frozenset())


class GatewayGraphQL(GraphQL[Context, None]):
    def __init__(
        self, schema: strawberry.Schema, *, database: Database, limits: Limits, dev: bool
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if dev else None,
            allow_queries_via_get=False,
            multipart_uploads_enabled=False,
            subscription_protocols=(),
        )
        self.database = database
        self.limits = limits
        self.dev = dev

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Any:
        principal = getattr(request.state, "principal", None)
        if principal is None:
            # Only development mode lets anonymous callers in; auth middleware sets a
            # principal for authenticated requests.
            principal = Principal.anonymous_dev() if self.dev else _NO_SCOPES
        request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
        return Context(
            database=self.database,
            limits=self.limits,
            principal=principal,
            request_id=request_id,
        )
