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

__all__ = [
    "BudgetExceeded",
    "Code",
    "CostLimited",
    "Forbidden",
    "GatewayError",
    "InvalidArgument",
    "NotFound",
]


class Code:
    """Stable codes used in `userErrors.code` and `errors[].extensions.code`."""

    UNKNOWN_SERIES = "UNKNOWN_SERIES"
    LENGTH_MISMATCH = "LENGTH_MISMATCH"
    NON_FINITE_VALUE = "NON_FINITE_VALUE"
    NAIVE_TIMESTAMP = "NAIVE_TIMESTAMP"
    TIMESTAMP_OUT_OF_RANGE = "TIMESTAMP_OUT_OF_RANGE"
    DUPLICATE_TIMESTAMP = "DUPLICATE_TIMESTAMP"
    DUPLICATE_SERIES = "DUPLICATE_SERIES"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    SAMPLE_EXISTS = "SAMPLE_EXISTS"  # ingest with onConflict ERROR hit a stored timestamp
    AMBIGUOUS_COLUMNS = "AMBIGUOUS_COLUMNS"  # a column sent in both its list and bulk form
    INVALID_INTERVAL = "INVALID_INTERVAL"
    INVALID_TIMEZONE = "INVALID_TIMEZONE"
    INVALID_RANGE = "INVALID_RANGE"
    INVALID_ARGUMENT = "BAD_USER_INPUT"
    BUDGET_EXCEEDED = "BUDGET_EXCEEDED"
    COST_LIMITED = "COST_LIMITED"
    NOT_FOUND = "NOT_FOUND"


class GatewayError(Exception):
    code = "GATEWAY_ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class InvalidArgument(GatewayError):
    code = Code.INVALID_ARGUMENT


class NotFound(GatewayError):
    code = Code.NOT_FOUND


class BudgetExceeded(GatewayError):
    code = Code.BUDGET_EXCEEDED


class CostLimited(GatewayError):
    code = Code.COST_LIMITED


class Forbidden(GatewayError):
    code = "FORBIDDEN"
