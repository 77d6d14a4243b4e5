"""Every stable code a client can see, with its meaning (docs/api.md#errors,
docs/plausibility.md).

    ErrorCode       the request failed: HTTP error bodies and `errors[].extensions.code`
    UserErrorCode   the caller's input is wrong: `userErrors[].code` of a mutation, and
                    `errors[].extensions.code` when a query argument is refused
    WarningCode     a result is odd but returned unchanged: `warnings[].code`

`KpiWarning.code` and `UserError.code` are the GraphQL enums `WarningCode` and `UserErrorCode`
(their values serialise as their names, so the JSON is unchanged). `storeSiteKpi` reports the
refusals of its KPI read as user errors, so the three request codes that read can meet
(BUDGET_EXCEEDED, NOT_FOUND, COST_LIMITED) are `UserErrorCode` members too, under the same names
(`as_user_error`). The meanings are written into the schema's descriptions by `describe`.
"""

from __future__ import annotations

import enum
from typing import Self

__all__ = ["ErrorCode", "UserErrorCode", "WarningCode", "as_user_error", "describe"]


class _Code(enum.StrEnum):
    """A code whose value is its name, carrying a one-line meaning."""

    meaning: str

    def __new__(cls, value: str, meaning: str) -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.meaning = meaning
        return member


class ErrorCode(_Code):
    BAD_REQUEST = (
        "BAD_REQUEST",
        "invalid Content-Length, body not a JSON object, a batch, or no `query` string",
    )
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED", "the document is not valid GraphQL syntax"
    GRAPHQL_VALIDATION_FAILED = (
        "GRAPHQL_VALIDATION_FAILED",
        "the document does not validate against the schema",
    )
    UNAUTHENTICATED = "UNAUTHENTICATED", "missing, malformed, unknown, revoked or expired key"
    FORBIDDEN = "FORBIDDEN", "the key lacks the scope the operation needs"
    TENANT_REFUSED = "TENANT_REFUSED", "X-Tenant names a tenant the key may not act for"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED", "an HTTP method other than POST (GET is refused)"
    TOO_MANY_SUBSCRIPTIONS = (
        "TOO_MANY_SUBSCRIPTIONS",
        "a WebSocket connection already runs its limit of subscriptions",
    )
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE", "request body above the caller's limit"
    UNSUPPORTED_MEDIA = "UNSUPPORTED_MEDIA", "not Content-Type: application/json"
    RATE_LIMITED = "RATE_LIMITED", "a rate limit was reached; retry after Retry-After"
    UNAVAILABLE = "UNAVAILABLE", "the database is unreachable, out of connections or timed out"
    BUDGET_EXCEEDED = "BUDGET_EXCEEDED", "more buckets or samples than the request budget"
    NOT_FOUND = "NOT_FOUND", "the market series a market query needs does not exist"
    INTERNAL_ERROR = "INTERNAL_ERROR", "anything unexpected; logged in full under the request id"
    GATEWAY_ERROR = "GATEWAY_ERROR", "an expected failure without a more specific code"
    COST_LIMITED = "COST_LIMITED", "the key's point budget or expensive-request slots are spent"
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT", "the request body did not arrive in time"
    READ_TIMEOUT = (
        "READ_TIMEOUT",
        "a query ran longer than the read time limit (HTTP 504); its statements were cancelled",
    )
    CONCURRENCY_LIMITED = (
        "CONCURRENCY_LIMITED",
        "the tenant (the key, for now) already runs its most ingest calls at once; retry "
        "after Retry-After",
    )
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP", "the operation is nested deeper than the depth limit"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES", "more aliases than allowed, spreads multiplied"
    TOO_MANY_ROOT_FIELDS = "TOO_MANY_ROOT_FIELDS", "more root fields than one operation may have"
    TOO_MANY_FIELDS = "TOO_MANY_FIELDS", "more fields than allowed, fragments expanded"
    FRAGMENT_CYCLE = "FRAGMENT_CYCLE", "a fragment spreads itself, directly or through others"
    OPERATION_NAME_REQUIRED = (
        "OPERATION_NAME_REQUIRED",
        "several operations in the document and no operationName",
    )
    UNKNOWN_OPERATION = "UNKNOWN_OPERATION", "operationName names no operation of the document"
    PERSISTED_QUERY_NOT_FOUND = (
        "PERSISTED_QUERY_NOT_FOUND",
        "the persisted query hash is unknown here: send the query with its hash",
    )
    PERSISTED_QUERY_NOT_SUPPORTED = (
        "PERSISTED_QUERY_NOT_SUPPORTED",
        "persisted queries are switched off: send the query",
    )
    PERSISTED_QUERY_HASH_MISMATCH = (
        "PERSISTED_QUERY_HASH_MISMATCH",
        "`sha256Hash` is not the SHA-256 of the query sent with it",
    )
    DOCUMENT_NOT_ALLOWED = (
        "DOCUMENT_NOT_ALLOWED",
        "allow-list mode: the document is not one of the registered documents",
    )


class UserErrorCode(_Code):
    BAD_USER_INPUT = "BAD_USER_INPUT", "an argument is invalid (a generic check)"
    UNKNOWN_SERIES = "UNKNOWN_SERIES", "no series with that key"
    UNKNOWN_SITE = "UNKNOWN_SITE", "no site with that key"
    UNKNOWN_FACTOR = "UNKNOWN_FACTOR", "an emission factor for a filter the family lacks"
    UNSUPPORTED_SERIES = "UNSUPPORTED_SERIES", "the series cannot yield energy (kind or unit)"
    NOT_A_KPI_SERIES = "NOT_A_KPI_SERIES", "the target series exists and is not of kind KPI"
    LENGTH_MISMATCH = "LENGTH_MISMATCH", "timestamps and values differ in length"
    NON_FINITE_VALUE = "NON_FINITE_VALUE", "NaN or +-Infinity"
    NAIVE_TIMESTAMP = "NAIVE_TIMESTAMP", "a timestamp without a UTC offset"
    TIMESTAMP_OUT_OF_RANGE = "TIMESTAMP_OUT_OF_RANGE", "a timestamp outside the accepted range"
    DUPLICATE_TIMESTAMP = "DUPLICATE_TIMESTAMP", "the same instant twice for one series"
    DUPLICATE_SERIES = "DUPLICATE_SERIES", "the same series twice in one call"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE", "more points than one call may carry"
    SAMPLE_EXISTS = "SAMPLE_EXISTS", "onConflict ERROR and a timestamp is already stored"
    AMBIGUOUS_COLUMNS = "AMBIGUOUS_COLUMNS", "a column sent both as a list and as a bulk column"
    INVALID_INTERVAL = "INVALID_INTERVAL", "not a supported ISO-8601 duration for this argument"
    INVALID_TIMEZONE = "INVALID_TIMEZONE", "not an IANA time zone name"
    INVALID_RANGE = "INVALID_RANGE", "`from` is not before `to`"
    INVALID_SITE = "INVALID_SITE", "the site's series roles do not fit together"
    INVALID_TARIFF = "INVALID_TARIFF", "a missing or negative tariff number, or vat >= 1"
    INVALID_PV = "INVALID_PV", "PV settings out of range, or a location without both coordinates"
    INVALID_BATTERY = "INVALID_BATTERY", "battery parameters outside their physical ranges"
    INVALID_STRATEGY = "INVALID_STRATEGY", "COST_OPTIMAL needs a dynamic import price"
    INVALID_SCENARIO = "INVALID_SCENARIO", "scenario inputs that do not fit the base site"
    STALE_CLAIM = "STALE_CLAIM", "the scenario changed or was claimed again since this claim"
    # storeSiteKpi only: its KPI read refused as the query would refuse it (`as_user_error`).
    BUDGET_EXCEEDED = (
        "BUDGET_EXCEEDED",
        "storeSiteKpi: the KPI read needs more buckets than the request budget",
    )
    NOT_FOUND = "NOT_FOUND", "storeSiteKpi: a market series the KPI read needs does not exist"
    COST_LIMITED = (
        "COST_LIMITED",
        "storeSiteKpi: the key's point budget or expensive slots are spent",
    )


class WarningCode(_Code):
    LOW_COVERAGE = "LOW_COVERAGE", "data cover less than 95 % of the time"
    MISSING_PRICE = "MISSING_PRICE", "prices cover less than 95 % of the time"
    MISSING_INTENSITY = "MISSING_INTENSITY", "grid intensity missing for some or all of the time"
    MISSING_FUEL = "MISSING_FUEL", "a fuel has no generation series and is left out"
    RATIO_OUT_OF_RANGE = "RATIO_OUT_OF_RANGE", "a ratio outside [0, 1]"
    NEGATIVE_LOAD = "NEGATIVE_LOAD", "consumption from the balance is negative"
    BALANCE_RESIDUAL = "BALANCE_RESIDUAL", "measured flows do not balance"
    PV_ABOVE_RATING = "PV_ABOVE_RATING", "PV power above the rated peak"
    PEAK_LOAD_HIGH = "PEAK_LOAD_HIGH", "load above what a household connection carries"
    PRICE_OUT_OF_RANGE = "PRICE_OUT_OF_RANGE", "a day-ahead price outside the usual or SDAC range"
    INTENSITY_OUT_OF_RANGE = "INTENSITY_OUT_OF_RANGE", "a grid CO2 intensity outside its range"
    IMPORT_PRICE_IMPLAUSIBLE = "IMPORT_PRICE_IMPLAUSIBLE", "average import price paid is odd"
    FEED_IN_IMPLAUSIBLE = "FEED_IN_IMPLAUSIBLE", "the feed-in tariff is odd"
    CONSUMPTION_IMPLAUSIBLE = "CONSUMPTION_IMPLAUSIBLE", "annualised consumption is odd"
    CO2_IMPLAUSIBLE = "CO2_IMPLAUSIBLE", "annualised CO2 of imports is odd"
    BATTERY_EFFICIENCY_IMPLAUSIBLE = (
        "BATTERY_EFFICIENCY_IMPLAUSIBLE",
        "battery round-trip efficiency is odd",
    )
    PV_YIELD_IMPLAUSIBLE = "PV_YIELD_IMPLAUSIBLE", "PV specific yield is odd"
    AUTARKY_IMPLAUSIBLE = "AUTARKY_IMPLAUSIBLE", "yearly autarky with a battery is odd"
    METER_RESET = "METER_RESET", "a meter register was reset (counted from 0)"
    METER_ROLLOVER = "METER_ROLLOVER", "a meter register wrapped at its modulus"
    METER_DIP = "METER_DIP", "a meter register fell a little (ignored, baseline kept)"


def as_user_error(code: ErrorCode | UserErrorCode) -> UserErrorCode:
    """The `userErrors` code of a refusal: a `UserErrorCode` as it is, an `ErrorCode` as the
    `UserErrorCode` of the same name (KeyError for one that has none: a bug, not input)."""
    return code if isinstance(code, UserErrorCode) else UserErrorCode[code.name]


def describe(lead: str, *families: type[_Code]) -> str:
    """A schema description: `lead`, then every code of `families` with its meaning."""
    lines = [f"- {code.value}: {code.meaning}" for family in families for code in family]
    return "\n".join([lead, *lines])
