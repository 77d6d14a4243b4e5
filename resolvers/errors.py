"""Errors a client may see, each with a stable machine-readable `code`.

    GatewayError            base; message is safe to show, `code` goes to extensions.code
    ├── InvalidArgument     BAD_USER_INPUT and the specific argument codes below
    ├── NotFound            NOT_FOUND
    ├── Forbidden           FORBIDDEN (the principal lacks the field's scope)
    ├── BudgetExceeded      BUDGET_EXCEEDED (bucket/point budget of one request)
    └── CostLimited         COST_LIMITED (the key's points per window, or its expensive
                            requests in flight; retry later)

Anything else raised in a resolver is unexpected and masked by the gateway.
"""

from __future__ import annotations

from resolvers.codes import ErrorCode, UserErrorCode

__all__ = [
    "BudgetExceeded",
    "CostLimited",
    "Forbidden",
    "GatewayError",
    "InvalidArgument",
    "NotFound",
]

# Codes raised in `db` (which imports nothing of the resolvers) are checked against
# `resolvers.codes` by tests/test_docs.py.
Code = ErrorCode | UserErrorCode


class GatewayError(Exception):
    code: Code = ErrorCode.GATEWAY_ERROR

    def __init__(self, message: str, *, code: Code | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class InvalidArgument(GatewayError):
    code = UserErrorCode.BAD_USER_INPUT


class NotFound(GatewayError):
    code = ErrorCode.NOT_FOUND


class BudgetExceeded(GatewayError):
    code = ErrorCode.BUDGET_EXCEEDED


class CostLimited(GatewayError):
    code = ErrorCode.COST_LIMITED


class Forbidden(GatewayError):
    code = ErrorCode.FORBIDDEN
