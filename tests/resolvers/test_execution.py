"""The list fast path of `ColumnarExecutionContext` returns exactly what graphql-core's
element-by-element completion returns, errors included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import strawberry
from strawberry.schema.config import StrawberryConfig

from resolvers.execution import ColumnarExecutionContext
from resolvers.scalars import scalar_map

VALUES: dict[str, list[object]] = {}


@strawberry.type
class Query:
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


def schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    config = StrawberryConfig(scalar_map=scalar_map)
    fast = strawberry.Schema(Query, config=config, execution_context_class=ColumnarExecutionContext)
    return fast, strawberry.Schema(Query, config=config)


T = datetime(2025, 3, 30, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("floats", {"floats": [1.5, -0.0, 1e300, 3]}),
        ("floats", {"floats": [1.0, float("inf")]}),
        ("floats", {"floats": [1.0, None]}),
        ("maybeFloats", {"floats": [1.0, None, 2.5]}),
        ("maybeFloats", {"floats": [None, float("nan")]}),
        ("ints", {"ints": [0, -(2**31), 2**31 - 1]}),
        ("ints", {"ints": [1, 2**31]}),
        ("ints", {"ints": [1, True]}),
        ("stamps", {"stamps": [T, T.astimezone(UTC).replace(hour=2)]}),
        ("stamps", {"stamps": [T, None]}),
        ("stamps", {"stamps": [T, "not a datetime"]}),
    ],
)
async def test_fast_path_matches_graphql_core(field: str, values: dict[str, list[object]]) -> None:
    VALUES.clear()
    VALUES.update(values)
    fast, reference = schemas()
    got = await fast.execute(f"{{ {field} }}")
    want = await reference.execute(f"{{ {field} }}")
    assert got.data == want.data
    assert [e.message for e in got.errors or []] == [e.message for e in want.errors or []]
    assert [e.path for e in got.errors or []] == [e.path for e in want.errors or []]
