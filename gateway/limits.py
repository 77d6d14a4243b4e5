"""Limits on GraphQL documents: depth, aliases (fragment spreads multiplied, CVE-2026-47707),
tokens and root fields. Each is a validation-time check that rejects the whole document with
a message naming the limit; none runs a resolver. The point budget per request lives in
`resolvers.context.Budget`, the body size limit in `gateway.endpoint`.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)

from gateway.settings import Settings
from resolvers.schema import ExtensionFactory

__all__ = ["limit_extensions", "root_field_rule"]


def _count_root_fields(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], depth: int = 0
) -> int:
    if depth > 20:  # fragment cycles are a validation error of their own
        return 0
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += 0 if selection.name.value == "__typename" else 1
        elif isinstance(selection, InlineFragmentNode):
            count += _count_root_fields(selection.selection_set, fragments, depth + 1)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                count += _count_root_fields(fragment.selection_set, fragments, depth + 1)
    return count


def root_field_rule(max_root_fields: int) -> type[ValidationRule]:
    class MaxRootFields(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            context: ValidationContext = self.context
            fragments = {
                d.name.value: d
                for d in context.document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            count = _count_root_fields(node.selection_set, fragments)
            if count > max_root_fields:
                self.report_error(
                    GraphQLError(
                        f"{count} root fields in one operation; the limit is {max_root_fields}",
                        node,
                    )
                )

    return MaxRootFields


def limit_extensions(settings: Settings) -> list[ExtensionFactory]:
    """Factories, so each request gets fresh extension instances."""
    # The rule classes are built once: the depth and alias limiters create a new class per
    # instance, which made every request miss the ValidationCache (its key holds the rules)
    # and re-validate with cold visitor caches, ~15 ms a request (issue 5 profile).
    rules = [
        *QueryDepthLimiter(max_depth=settings.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
        root_field_rule(settings.max_root_fields),
    ]
    return [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: AddValidationRules(rules),
    ]
