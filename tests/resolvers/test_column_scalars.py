"""The column scalars of results serialise a whole list exactly as graphql-core serialises
the same list element by element as `[DateTime!]`, `[Float!]`, `[Float]` or `[Int!]`; a list
that graphql-core refuses an element of fails as one error at the column's path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionResult

from resolvers.scalars import (
    DateTimeColumn,
    FloatColumn,
    IntColumn,
    NullableFloatColumn,
    scalar_map,
)

VALUES: dict[str, list[object]] = {}


@strawberry.type
class Lists:
    @strawberry.field
    def floats(self) -> list[float]:
        return VALUES["floats"]  # type: ignore[return-value]

    @strawberry.field
    def maybe_floats(self) -> list[float | None]:
        return VALUES["floats"]  # type: ignore[return-value]

    @strawberry.field
    def ints(self) -> list[int]:
        return VALUES["ints"]  # type: ignore[return-value]

    @strawberry.field
    def stamps(self) -> list[datetime]:
        return VALUES["stamps"]  # type: ignore[return-value]


def _floats() -> list[float]:
    return VALUES["floats"]  # type: ignore[return-value]


def _maybe_floats() -> list[float | None]:
    return VALUES["floats"]  # type: ignore[return-value]


def _ints() -> list[int]:
    return VALUES["ints"]  # type: ignore[return-value]


def _stamps() -> list[datetime]:
    return VALUES["stamps"]  # type: ignore[return-value]


@strawberry.type
class Columns:
    floats: list[float] = strawberry.field(resolver=_floats, graphql_type=FloatColumn)
    maybe_floats: list[float | None] = strawberry.field(
        resolver=_maybe_floats, graphql_type=NullableFloatColumn
    )
    ints: list[int] = strawberry.field(resolver=_ints, graphql_type=IntColumn)
    stamps: list[datetime] = strawberry.field(resolver=_stamps, graphql_type=DateTimeColumn)


def schema(query: type) -> strawberry.Schema:
    return strawberry.Schema(query, config=StrawberryConfig(scalar_map=scalar_map))


async def both(
    field: str, values: dict[str, list[object]]
) -> tuple[ExecutionResult, ExecutionResult]:
    """`field` over `values` as a column scalar and as a GraphQL list."""
    VALUES.clear()
    VALUES.update(values)
    document = f"{{ {field} }}"
    return await schema(Columns).execute(document), await schema(Lists).execute(document)


T = datetime(2025, 3, 30, 1, tzinfo=UTC)
BERLIN_SUMMER = timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("floats", {"floats": [1.5, -0.0, 1e300, 0.0]}),
        ("floats", {"floats": [1.0, 3, 2**40]}),  # ints become floats, as `Float` does
        ("floats", {"floats": []}),
        ("maybeFloats", {"floats": [1.0, None, 2.5, 0.0]}),
        ("maybeFloats", {"floats": [None, 2]}),
        ("ints", {"ints": [0, -(2**31), 2**31 - 1]}),
        ("ints", {"ints": [1, 2.0]}),  # an integral float is an Int to graphql-core
        ("ints", {"ints": [1, True]}),  # and a bool is 0 or 1
        ("stamps", {"stamps": [T, T.astimezone(BERLIN_SUMMER), T + timedelta(hours=1)]}),
    ],
)
async def test_column_is_the_list_graphql_core_completes(
    field: str, values: dict[str, list[object]]
) -> None:
    got, want = await both(field, values)
    assert got.errors is None and want.errors is None
    assert got.data is not None and want.data is not None
    assert got.data == want.data
    # Same JSON types too: `1 == 1.0` would hide an int where graphql-core sends a float.
    assert [type(x) for x in got.data[field]] == [type(x) for x in want.data[field]]


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("floats", {"floats": [1.0, float("inf")]}),
        ("floats", {"floats": [1.0, None]}),
        ("maybeFloats", {"floats": [None, float("nan")]}),
        ("ints", {"ints": [1, 2**31]}),
        ("ints", {"ints": [1, None]}),
    ],
)
async def test_a_refused_element_fails_the_whole_column(
    field: str, values: dict[str, list[object]]
) -> None:
    got, want = await both(field, values)
    assert want.errors, "graphql-core refuses this list element by element"
    assert got.errors is not None and len(got.errors) == 1
    assert got.errors[0].path == [field]
    # The message is graphql-core's own for the offending element (for a null, the
    # scalar's refusal rather than the non-null list's).
    if None not in values[next(iter(values))]:
        assert got.errors[0].message == want.errors[0].message
    else:
        assert "cannot represent" in got.errors[0].message


async def test_result_columns_are_refused_as_input() -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def echo(self, stamps: DateTimeColumn) -> int:
            return 0

    result = await schema(Query).execute(
        "query($s: DateTimeColumn!) { echo(stamps: $s) }", variable_values={"s": []}
    )
    assert result.errors is not None
    assert "result type" in result.errors[0].message
