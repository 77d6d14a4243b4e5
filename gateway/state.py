"""What one HTTP request learns on its way through the gateway (docs/architecture.md).

The outer middleware creates it, the /graphql pipeline, the health endpoints and the error
masking extension fill it in, and the middleware reads it for the access log and the metrics.
It lives in the ASGI scope under one key, so Starlette's `request.state` sees the same object.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from gateway.analysis import Operation
from gateway.cost import RequestAccount
from gateway.documents import Document
from resolvers.auth import Principal

__all__ = ["RequestState"]

_KEY = "gateway"


@dataclass
class RequestState:
    request_id: str = "-"
    principal: Principal | None = None
    operation: Operation | None = None  # the operation that will execute, from the analysis
    document: Document | None = None  # parsed and analysed, for strawberry to execute
    outcome: str | None = None  # set when a check decides it; otherwise derived from the status
    refused: str | None = None  # the metric label of a refusal (overloaded, key_cost, ...)
    rate_limited: str | None = None  # the rate-limit rule that refused
    db_error: str | None = None  # an outage reason or a SQLSTATE, for the metrics
    unavailable: bool = False  # a resolver met a database outage: the response is a 503
    disconnected: bool = False  # the client left before its request arrived
    graphql_errors: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # ingest points by outcome
    account: RequestAccount | None = None  # the key's cost account while the request runs
    ingest_slot: str | None = None  # the identity whose ingest slot the request holds

    @property
    def key_id(self) -> str | None:
        return self.principal.key_id if self.principal else None

    @classmethod
    def of(cls, scope: MutableMapping[str, Any]) -> RequestState:
        """The request's state, created on first use."""
        holder: dict[str, Any] = scope.setdefault("state", {})
        state = holder.get(_KEY)
        if not isinstance(state, RequestState):
            state = holder[_KEY] = cls()
        return state
