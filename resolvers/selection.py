"""Which subfields a query selected, looking through fragments."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

__all__ = ["selected_subfields"]


def _names(selections: Iterable[Selection]) -> set[str]:
    names: set[str] = set()
    for selection in selections:
        if isinstance(selection, SelectedField):
            names.add(selection.name)
        elif isinstance(selection, FragmentSpread | InlineFragment):
            names |= _names(selection.selections)
    return names


def selected_subfields(info: Any) -> set[str]:
    """Names selected under the field being resolved (camelCase, as in the query)."""
    return _names(info.selected_fields[0].selections)
