"""A graphql-core execution context with a fast path for lists of scalars.

graphql-core completes every list element on its own (a path entry, an awaitable check and
a serialise call each, ~1-1.5 µs), which dominates responses made of long columns such as
`SampleColumns.timestamps` or `BucketColumns.avg`. For a plain list of a scalar type this
context serialises the whole list in one comprehension; anything unusual (a null in a
non-null list, a failing serialiser, @stream) falls back to graphql-core's own path, so
errors and their paths are exactly graphql-core's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from graphql import (
    GraphQLFloat,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLOutputType,
    GraphQLResolveInfo,
    Undefined,
    is_leaf_type,
)
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

__all__ = ["ColumnarExecutionContext"]


_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def _plain_numbers(leaf: Any, items: list[Any], non_null: bool) -> list[Any] | None:
    """Float and Int lists that are already what their serialiser would return (finite
    floats, 32-bit ints, no bools) go out as they are: one C pass instead of a call each."""
    kinds = set(map(type, items))
    if not non_null:
        kinds.discard(type(None))
    present = items if non_null or None not in items else [x for x in items if x is not None]
    if leaf is GraphQLFloat and kinds <= {float} and all(map(math.isfinite, present)):
        return items
    if leaf is GraphQLInt and kinds <= {int}:
        if not present or (_INT_MIN <= min(present) and max(present) <= _INT_MAX):
            return items
    return None


class ColumnarExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def complete_iterable_value(
        self,
        item_type: GraphQLOutputType,
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Path,
        items: Iterable[Any],
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        non_null = isinstance(item_type, GraphQLNonNull)
        leaf = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if (
            isinstance(items, list)
            and is_leaf_type(leaf)
            and not self.get_stream_usage(field_details_list, path)
        ):
            if (ready := _plain_numbers(leaf, items, non_null)) is not None:
                return ready
            coerce = leaf.coerce_output_value
            try:
                out = [None if item is None else coerce(item) for item in items]
            except Exception:  # graphql-core's own path below reports it properly
                out = None
            if out is not None:
                # By type: `Undefined in out` would call its Python __eq__ per element.
                kinds = set(map(type, out))
                if type(Undefined) not in kinds and not (non_null and type(None) in kinds):
                    return out
        return super().complete_iterable_value(
            item_type, field_details_list, info, path, items, position_context
        )
