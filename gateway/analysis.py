"""One linear pre-execution analysis of a GraphQL document (docs/limits.md, "Document analysis").

A single walk visits every selection set of the document once: a fragment's summary (its
root-field names and count, depth, aliases) is computed the first time it is spread and reused
for every later spread, multiplied by the number of spreads. The walk needs no level cut-off:
a fragment met again while it is still being summarised is a cycle and refuses the document.
It stops at the first limit passed, so its time is bounded by the size of the document, which
the token limit bounds in turn.

It serves the scope check (root fields of the operation that will execute), the root-field,
depth, alias and field limits (the last bounds graphql-core's validation, whose overlapping-
fields rule compares the fields of a selection set pairwise), and the operation selection,
which follows graphql-core's execution: several operations need an `operationName`, and an
unknown name is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)

from resolvers.codes import ErrorCode

__all__ = [
    "Analysis",
    "DocumentLimits",
    "DocumentRefused",
    "Operation",
    "analyse_document",
    "analyse_parsed",
    "select_operation",
]

_CAP = 1 << 40  # counts saturate here: fragment chains multiply, and Python ints never overflow


@dataclass(frozen=True)
class DocumentLimits:
    max_tokens: int = 2000
    max_depth: int = 8
    max_aliases: int = 15
    max_root_fields: int = 10
    max_fields: int = 500


@dataclass(frozen=True)
class Operation:
    kind: str  # "query" | "mutation" | "subscription"
    name: str | None
    root_fields: frozenset[str]


class DocumentRefused(Exception):
    """A limit passed, a fragment cycle, or no operation to run: HTTP 400 before validation."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Analysis:
    operations: tuple[Operation, ...]


@dataclass(frozen=True, slots=True)
class _Summary:
    names: frozenset[str]  # field names at this level, through fragments
    fields: int  # fields at this level other than __typename, once per spread
    depth: int  # strawberry's counting: a field with a selection set adds 1, a leaf 0
    aliases: int  # aliased fields anywhere below, once per spread
    selected: int  # fields anywhere below, once per spread: what validation compares


class _Walk:
    def __init__(self, document: DocumentNode, limits: DocumentLimits) -> None:
        self.limits = limits
        self.fragments = {
            d.name.value: d.selection_set
            for d in document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        self.done: dict[int, _Summary] = {}  # id(selection set) -> summary
        self.limited = True  # stop at the first limit passed

    def _children(self, selections: SelectionSetNode) -> list[tuple[SelectionSetNode, str | None]]:
        """Selection sets this one needs summarised first, with the fragment name for spreads."""
        children: list[tuple[SelectionSetNode, str | None]] = []
        for selection in selections.selections:
            if isinstance(selection, FieldNode | InlineFragmentNode):
                if selection.selection_set is not None:
                    children.append((selection.selection_set, None))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:  # unknown fragments are a validation error
                    children.append((fragment, selection.name.value))
        return children

    def summarise(self, root: SelectionSetNode) -> _Summary:
        """Post-order over the selection sets below `root` with an explicit stack (fragment
        chains can be longer than Python's recursion limit)."""
        stack: list[tuple[SelectionSetNode, str | None, bool]] = [(root, None, False)]
        open_: dict[int, str | None] = {}  # selection sets on the current path
        while stack:
            node, fragment, expanded = stack.pop()
            if id(node) in self.done:
                continue
            if expanded:
                del open_[id(node)]
                self.done[id(node)] = self._combine(node)
                continue
            open_[id(node)] = fragment
            stack.append((node, fragment, True))
            for child, name in self._children(node):
                if id(child) in open_:
                    path = [n for n in open_.values() if n is not None]  # fragments only
                    start = path.index(name) if name in path else 0
                    cycle = " -> ".join([*path[start:], str(name)])
                    raise DocumentRefused(
                        f"Cannot spread fragment '{name}' within itself (cycle {cycle}).",
                        ErrorCode.FRAGMENT_CYCLE,
                    )
                if id(child) not in self.done:
                    stack.append((child, name, False))
        return self.done[id(root)]

    def _combine(self, node: SelectionSetNode) -> _Summary:
        names: set[str] = set()
        fields = depth = aliases = selected = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                names.add(name)
                fields += name != "__typename"
                aliases += selection.alias is not None
                selected += 1
                if selection.selection_set is not None:
                    below = self.done[id(selection.selection_set)]
                    aliases += below.aliases
                    selected += below.selected
                    if not name.startswith("__"):  # introspection adds no depth
                        depth = max(depth, 1 + below.depth)
            else:
                if isinstance(selection, InlineFragmentNode):
                    below = self.done[id(selection.selection_set)]
                elif isinstance(selection, FragmentSpreadNode):
                    fragment = self.fragments.get(selection.name.value)
                    if fragment is None:
                        continue
                    below = self.done[id(fragment)]
                else:
                    continue
                names |= below.names
                fields += below.fields
                depth = max(depth, below.depth)
                aliases += below.aliases
                selected += below.selected
        if self.limited and selected > self.limits.max_fields:
            raise DocumentRefused(
                f"{min(selected, _CAP)} fields in one operation once fragments are expanded; "
                f"the limit is {self.limits.max_fields}",
                ErrorCode.TOO_MANY_FIELDS,
            )
        if aliases > self.limits.max_aliases and self.limited:
            # Every selection set walked is reachable from an operation, so the document
            # passes the limit too: stop now. (Depth is checked per operation: introspection
            # subtrees do not count, as in strawberry's limiter.)
            raise _too_many_aliases(aliases, self.limits)
        return _Summary(
            frozenset(names), min(fields, _CAP), depth, min(aliases, _CAP), min(selected, _CAP)
        )


def _too_many_aliases(count: int, limits: DocumentLimits) -> DocumentRefused:
    # Worded as strawberry's limiters word them, which clients and tests already know.
    return DocumentRefused(
        f"{count} aliases found. Allowed: {limits.max_aliases}", ErrorCode.TOO_MANY_ALIASES
    )


def analyse_parsed(document: DocumentNode, limits: DocumentLimits) -> Analysis:
    """The analysis of a parsed document; raises DocumentRefused."""
    walk = _Walk(document, limits)
    operations: list[Operation] = []
    aliases = 0
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        name = definition.name.value if definition.name else None
        summary = walk.summarise(definition.selection_set)
        if summary.depth > limits.max_depth:
            raise DocumentRefused(
                f"'{name or 'anonymous'}' exceeds maximum operation depth of {limits.max_depth}",
                ErrorCode.QUERY_TOO_DEEP,
            )
        if summary.fields > limits.max_root_fields:
            raise DocumentRefused(
                f"{summary.fields} root fields in one operation; "
                f"the limit is {limits.max_root_fields}",
                ErrorCode.TOO_MANY_ROOT_FIELDS,
            )
        aliases += summary.aliases  # the alias limit is per document, as strawberry's
        if aliases > limits.max_aliases:
            raise _too_many_aliases(aliases, limits)
        operations.append(Operation(definition.operation.value, name, summary.names))
    walk.limited = False  # fragments no operation spreads: refuse cycles, count nothing
    for fragment in walk.fragments.values():
        walk.summarise(fragment)
    return Analysis(tuple(operations))


def analyse_document(query: str, limits: DocumentLimits) -> Analysis | None:
    """The document's operations, or None when it does not parse (the GraphQL layer reports
    the syntax error). Raises DocumentRefused."""
    result = (_analyse_cached if len(query) <= _CACHED_QUERY_CHARS else _analyse_caught)(
        query, limits
    )
    if isinstance(result, _Refusal):
        raise DocumentRefused(result.message, result.code)  # a fresh exception each time
    return result


_CACHED_QUERY_CHARS = 16_384  # a long string literal is one token: bound the cache's memory


def _analyse_text(query: str, limits: DocumentLimits) -> Analysis | None:
    try:
        document = parse(query, max_tokens=limits.max_tokens, no_location=True)
    except GraphQLError:
        return None
    return analyse_parsed(document, limits)


@dataclass(frozen=True)
class _Refusal:
    message: str
    code: str


def _analyse_caught(query: str, limits: DocumentLimits) -> Analysis | None | _Refusal:
    try:
        return _analyse_text(query, limits)
    except DocumentRefused as refused:
        return _Refusal(str(refused), refused.code)


# Refusals are cached too: a repeated attack costs a dictionary lookup.
_analyse_cached = lru_cache(maxsize=512)(_analyse_caught)


def select_operation(analysis: Analysis, operation_name: str | None) -> Operation:
    """The operation graphql-core's execution will run (`ExecutionContext.build`)."""
    selected: Operation | None = None
    for operation in analysis.operations:
        if operation_name is None:
            if selected is not None:
                raise DocumentRefused(
                    "Must provide operation name if query contains multiple operations.",
                    ErrorCode.OPERATION_NAME_REQUIRED,
                )
            selected = operation
        elif operation.name == operation_name:
            selected = operation
    if selected is None:
        if operation_name is None:
            raise DocumentRefused("Must provide an operation.", ErrorCode.BAD_REQUEST)
        raise DocumentRefused(
            f"Unknown operation named '{operation_name[:100]}'.", ErrorCode.UNKNOWN_OPERATION
        )
    return selected
