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
    "check_key",
    "check_read_range",
    "check_timezone",
    "ingest_window",
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
        return parse_every(every)
    except InvalidInterval as exc:
        raise InvalidArgument(str(exc), code=UserErrorCode.INVALID_INTERVAL) from None
