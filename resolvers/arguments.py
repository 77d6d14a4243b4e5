"""Argument annotations and checks shared by queries and mutations; each failure has a stable
code (`resolvers.codes.UserErrorCode`)."""

from __future__ import annotations

import functools
import re
import zoneinfo
from datetime import UTC, datetime
from typing import Annotated

import strawberry

from db.intervals import BucketWidth, InvalidInterval, parse_every
from resolvers.codes import UserErrorCode
from resolvers.context import Limits
from resolvers.errors import InvalidArgument

__all__ = [
    "From",
    "To",
    "check_every",
    "check_json_object",
    "check_key",
    "check_read_range",
    "check_timezone",
    "ingest_window",
    "json_object_problem",
    "require_aware",
    "valid_key",
]


# The range arguments of every read: `from` is a Python keyword, so resolvers take `from_`.
From = Annotated[datetime, strawberry.argument(name="from", description="Inclusive start.")]
To = Annotated[datetime, strawberry.argument(description="Exclusive end.")]

_READ_MIN = datetime(1900, 1, 1, tzinfo=UTC)
_READ_MAX = datetime(2200, 1, 1, tzinfo=UTC)


# Series, site and KPI keys: safe in URLs, labels and logs, and readable in GraphiQL.
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._\-/@+]{0,199}$")


def valid_key(key: str) -> bool:
    return _KEY.match(key) is not None


def check_key(key: str, argument: str = "key") -> str:
    if not valid_key(key):
        raise InvalidArgument(
            f"`{argument}` must be 1-200 characters of letters, digits and : . _ - / @ +, "
            "starting with a letter or digit"
        )
    return key


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_timezone(name: str) -> str:
    # IANA names only: PostgreSQL would also accept POSIX strings like 'UTC+3' with the
    # sign inverted, which is never what a caller means.
    if name not in _zones():
        raise InvalidArgument(
            f"unknown time zone {name!r}: use an IANA name such as 'Europe/Berlin' or 'UTC'",
            code=UserErrorCode.INVALID_TIMEZONE,
        )
    return name


def require_aware(value: datetime, argument: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidArgument(
            f"`{argument}` has no UTC offset; send RFC 3339 with an offset, e.g. "
            "2025-03-30T00:00:00+01:00 or ...Z",
            code=UserErrorCode.NAIVE_TIMESTAMP,
        )
    return value


def check_read_range(start: datetime, end: datetime) -> None:
    """A read or delete range: aware, ordered, and within what both Python and PostgreSQL
    can represent after conversion to UTC (so `0001-01-01T00:00+14:00` is a user error)."""
    require_aware(start, "from")
    require_aware(end, "to")
    if not (_READ_MIN <= start and end <= _READ_MAX):
        raise InvalidArgument(
            "`from` and `to` must lie between 1900-01-01 and 2200-01-01",
            code=UserErrorCode.TIMESTAMP_OUT_OF_RANGE,
        )
    if start >= end:
        raise InvalidArgument("`from` must be before `to`", code=UserErrorCode.INVALID_RANGE)


def ingest_window(limits: Limits) -> tuple[datetime, datetime]:
    """Timestamps an ingest accepts: [min_timestamp, now + max_future)."""
    return limits.min_timestamp, datetime.now(UTC) + limits.max_future


def check_every(every: str) -> BucketWidth:
    try:
        if len(every) > 32:  # no width is that long; and keep the input out of the message
            raise InvalidInterval("`every` is not a bucket width: use e.g. PT15M, PT1H or P1D")
        return parse_every(every)
    except OverflowError:  # PT99999999999999999999H: digits beyond timedelta's range
        raise InvalidArgument(
            "`every` is out of range: use PT1S to PT24H or P1D, P1W, P1M, P3M, P1Y",
            code=UserErrorCode.INVALID_INTERVAL,
        ) from None
    except InvalidInterval as exc:
        raise InvalidArgument(str(exc), code=UserErrorCode.INVALID_INTERVAL) from None


MAX_JSON_DEPTH = 8
MAX_JSON_VALUES = 1000


def check_json_object(value: object, argument: str) -> dict[str, object]:
    """A JSON object argument (labels) of bounded nesting and size."""
    problem = json_object_problem(value, argument)
    if problem is not None:
        raise InvalidArgument(problem)
    assert isinstance(value, dict)
    return value


def json_object_problem(value: object, argument: str) -> str | None:
    """Why `value` is not an acceptable JSON object argument, or None. Walked without
    recursion: a value nested 1,000 deep would overflow the stack of a recursive encoder."""
    if not isinstance(value, dict):
        return f"`{argument}` must be a JSON object"
    pending: list[tuple[object, int]] = [(value, 1)]
    seen = 0
    while pending:
        item, depth = pending.pop()
        seen += 1
        if depth > MAX_JSON_DEPTH or seen > MAX_JSON_VALUES:
            return (
                f"`{argument}` may nest {MAX_JSON_DEPTH} levels and hold "
                f"{MAX_JSON_VALUES} values at most"
            )
        if isinstance(item, dict):
            pending.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            pending.extend((v, depth + 1) for v in item)
    return None
