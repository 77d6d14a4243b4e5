"""Scalars, registered through `StrawberryConfig.scalar_map`.

`DateTime` parses with `datetime.fromisoformat` (C code, ~35x faster than the dateutil parser
strawberry uses by default). Naive values parse here and are rejected by the resolvers, so an
ingest can report them as user errors with the offending index.

`EpochMillisColumn` and `FloatColumn` are list-valued scalars for bulk ingest: graphql-core
hands the whole JSON array to `parse_value` once instead of coercing every element (~1 µs
each), and the array becomes one numpy column in a few C-level passes (~20-40 ns a point).

Each scalar names its wire format with `@specifiedBy` (DateTime: the GraphQL Scalars RFC 3339
profile; the others: JSON, RFC 8259) and says in its description which TypeScript type it maps
to, so a code generator can type it (docs/api.md, "Typed clients").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NewType

import numpy as np
import numpy.typing as npt
import strawberry
from strawberry.types.scalar import ScalarDefinition

__all__ = ["JSON", "EpochMillisColumn", "FloatColumn", "scalar_map"]

JSON = NewType("JSON", object)
# Parsed values are numpy arrays: int64 milliseconds since the Unix epoch, float64 values.
EpochMillisColumn = NewType("EpochMillisColumn", object)
FloatColumn = NewType("FloatColumn", object)


def _parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime must be an RFC 3339 string with an offset")
    return datetime.fromisoformat(value)


# Bucket starts repeat across the series of a dashboard and as the next bucket's end, so
# UTC instants (everything read from the database) keep their text; other zones are not
# cached because equal instants in one zone can differ in offset (DST fold).
_UTC_TEXT: dict[datetime, str] = {}


def _serialize_datetime(value: datetime) -> str:
    if value.tzinfo is not UTC:
        return value.isoformat()
    text = _UTC_TEXT.get(value)
    if text is None:
        if len(_UTC_TEXT) >= 100_000:
            _UTC_TEXT.clear()
        text = _UTC_TEXT[value] = value.isoformat()
    return text


def _identity(value: Any) -> Any:
    return value


def _column(value: Any, allowed: set[type], dtype: type, what: str) -> npt.NDArray[Any]:
    # One C pass over the element types; bool is a subclass of int and must not slip in.
    if not isinstance(value, list) or not set(map(type, value)) <= allowed:
        kinds = " or ".join(sorted(t.__name__ for t in allowed))
        raise ValueError(f"{what} must be a JSON array of {kinds}")
    try:
        return np.array(value, dtype=dtype)
    except OverflowError:
        raise ValueError(f"{what} holds a number out of range") from None


def _parse_epoch_millis(value: Any) -> npt.NDArray[np.int64]:
    return _column(value, {int}, np.int64, "EpochMillisColumn")


def _parse_floats(value: Any) -> npt.NDArray[np.float64]:
    # JSON has no NaN/Infinity literals; non-finite values are still checked by the resolver.
    return _column(value, {int, float}, np.float64, "FloatColumn")


def _serialize_column(value: Any) -> list[Any]:
    return value.tolist() if isinstance(value, np.ndarray) else list(value)


scalar_map: dict[object, ScalarDefinition] = {
    datetime: strawberry.scalar(
        name="DateTime",
        description="RFC 3339 timestamp with an offset, e.g. 2025-03-30T00:00:00+00:00. "
        "Naive timestamps are rejected. JSON: a string.",
        specified_by_url="https://scalars.graphql.org/andimarek/date-time",
        serialize=_serialize_datetime,
        parse_value=_parse_datetime,
    ),
    EpochMillisColumn: strawberry.scalar(
        name="EpochMillisColumn",
        description="A whole column of instants as one JSON array of integers: milliseconds "
        "since 1970-01-01T00:00:00Z (UTC). Parsed in one pass, for bulk ingest. JSON: an array "
        "of integers (TypeScript: number[]).",
        specified_by_url="https://www.rfc-editor.org/rfc/rfc8259",
        serialize=_serialize_column,
        parse_value=_parse_epoch_millis,
    ),
    FloatColumn: strawberry.scalar(
        name="FloatColumn",
        description="A whole column of numbers as one JSON array. Parsed in one pass, for "
        "bulk ingest. JSON: an array of numbers (TypeScript: number[]).",
        specified_by_url="https://www.rfc-editor.org/rfc/rfc8259",
        serialize=_serialize_column,
        parse_value=_parse_floats,
    ),
    JSON: strawberry.scalar(
        name="JSON",
        description="Any JSON value (TypeScript: unknown).",
        specified_by_url="https://www.rfc-editor.org/rfc/rfc8259",
        serialize=_identity,
        parse_value=_identity,
    ),
}
