"""Scalars, registered through `StrawberryConfig.scalar_map`.

`DateTime` parses with `datetime.fromisoformat` (C code, ~35x faster than the dateutil parser
strawberry uses by default). Naive values parse here and are rejected by the resolvers, so an
ingest can report them as user errors with the offending index.

`EpochMillisColumn` and `FloatColumn` are list-valued scalars for bulk ingest: graphql-core
hands the whole JSON array to `parse_value` once instead of coercing every element (~1 µs
each), and the array becomes one numpy column in a few C-level passes (~20-40 ns a point).

The columns of a read (`starts`, `avg`, `count`, ...) are list-valued scalars too
(`DateTimeColumn`, `FloatColumn`, `NullableFloatColumn`, `IntColumn`): graphql-core completes
one leaf per column and calls `serialize` once with the whole list, instead of a path entry,
an awaitable check and a serialise call per element (docs/api.md, "Column scalars"). Each
element is serialised exactly as `DateTime`, `Float` or `Int` would serialise it; a column
that holds an element they refuse fails as a whole, at the column's path.

Each scalar names its wire format with `@specifiedBy` (DateTime: the GraphQL Scalars RFC 3339
profile; the others: JSON, RFC 8259) and says in its description which TypeScript type it maps
to, so a code generator can type it (docs/api.md, "Typed clients").
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, NewType

import numpy as np
import numpy.typing as npt
import strawberry
from graphql import GraphQLFloat, GraphQLInt
from strawberry.types.scalar import ScalarDefinition

__all__ = [
    "JSON",
    "DateTimeColumn",
    "EpochMillisColumn",
    "FloatColumn",
    "IntColumn",
    "NullableFloatColumn",
    "scalar_map",
]

JSON = NewType("JSON", object)
# Parsed values are numpy arrays: int64 milliseconds since the Unix epoch, float64 values.
EpochMillisColumn = NewType("EpochMillisColumn", object)
FloatColumn = NewType("FloatColumn", object)
# Read-only columns; fields keep their Python list types and name these as `graphql_type`.
DateTimeColumn = NewType("DateTimeColumn", object)
NullableFloatColumn = NewType("NullableFloatColumn", object)
IntColumn = NewType("IntColumn", object)


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


def _read_only(name: str) -> Any:
    def refuse(value: Any) -> Any:
        raise ValueError(f"{name} is a result type; it is not accepted as input")

    return refuse


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


def _serialize_datetimes(value: Any) -> list[str]:
    return [_serialize_datetime(item) for item in value]


def _floats(value: Any, nullable: bool) -> list[Any]:
    items = _serialize_column(value)
    kinds = set(map(type, items))
    if nullable:
        kinds.discard(type(None))
    # Finite floats are already what `Float` serialises them to: one C pass, no call each
    # (`filter(None, ...)` drops nulls and zeros, both fine).
    if kinds <= {float} and all(map(math.isfinite, filter(None, items))):
        return items
    serialize = GraphQLFloat.serialize
    return [None if nullable and item is None else serialize(item) for item in items]


def _serialize_floats(value: Any) -> list[float]:
    return _floats(value, nullable=False)


def _serialize_nullable_floats(value: Any) -> list[float | None]:
    return _floats(value, nullable=True)


_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def _serialize_ints(value: Any) -> list[int]:
    items = _serialize_column(value)
    if set(map(type, items)) <= {int} and (
        not items or (_INT_MIN <= min(items) and max(items) <= _INT_MAX)
    ):
        return items
    serialize = GraphQLInt.serialize
    return [serialize(item) for item in items]


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
        "bulk ingest; in results, a column without gaps. JSON: an array of numbers "
        "(TypeScript: number[]).",
        specified_by_url="https://www.rfc-editor.org/rfc/rfc8259",
        serialize=_serialize_floats,
        parse_value=_parse_floats,
    ),
    JSON: strawberry.scalar(
        name="JSON",
        description="Any JSON value (TypeScript: unknown).",
        specified_by_url="https://www.rfc-editor.org/rfc/rfc8259",
        serialize=_identity,
        parse_value=_identity,
    ),
    DateTimeColumn: strawberry.scalar(
        name="DateTimeColumn",
        description="A column of instants in results: one JSON array of DateTime strings "
        "(RFC 3339 with an offset). JSON: an array of strings (TypeScript: string[]).",
        specified_by_url="https://www.rfc-editor.org/rfc/rfc8259",
        serialize=_serialize_datetimes,
        parse_value=_read_only("DateTimeColumn"),
    ),
    NullableFloatColumn: strawberry.scalar(
        name="NullableFloatColumn",
        description="A column of numbers in results with null where a bucket has no value. "
        "JSON: an array of numbers and nulls (TypeScript: (number | null)[]).",
        specified_by_url="https://www.rfc-editor.org/rfc/rfc8259",
        serialize=_serialize_nullable_floats,
        parse_value=_read_only("NullableFloatColumn"),
    ),
    IntColumn: strawberry.scalar(
        name="IntColumn",
        description="A column of counts in results: one JSON array of 32-bit integers. "
        "JSON: an array of integers (TypeScript: number[]).",
        specified_by_url="https://www.rfc-editor.org/rfc/rfc8259",
        serialize=_serialize_ints,
        parse_value=_read_only("IntColumn"),
    ),
}
