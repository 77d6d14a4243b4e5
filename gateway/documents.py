"""GraphQL documents parsed, analysed and validated once per distinct text (docs/limits.md,
"Document analysis"; docs/performance.md).

The endpoint's analysis (`gateway.analysis`) needs the parsed document before strawberry
runs, so the parse is done here, once, and strawberry is handed the same `DocumentNode`
(`PreparedDocument` below) instead of parsing the text again. Validation depends only on the
document, the schema and the validation rules, never on variables or `operationName`, so
its result is kept with the document too. Documents live in a bounded LRU keyed by their
text; a long text (a huge string literal is one token) is prepared but not kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from graphql import (
    DocumentNode,
    ExecutableDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    print_ast,
)
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from gateway.analysis import Analysis, DocumentLimits, DocumentRefused, analyse_parsed

__all__ = ["Document", "Documents", "PreparedDocument", "canonical_hash"]

_KEPT_CHARS = 16_384


@dataclass(eq=False)
class Document:
    text: str
    node: DocumentNode | None  # None: not valid syntax; strawberry reports the error itself
    analysis: Analysis | None = None
    refusal: DocumentRefused | None = None  # a limit passed or a fragment cycle
    _canonical: str | None = None
    _validated: tuple[object, tuple[type[ASTValidationRule], ...], list[GraphQLError]] | None = (
        field(default=None, repr=False)
    )

    def refused(self) -> DocumentRefused | None:
        """The refusal as a fresh exception (a cached one would collect tracebacks)."""
        if self.refusal is None:
            return None
        return DocumentRefused(str(self.refusal), self.refusal.code)

    @property
    def canonical(self) -> str | None:
        """SHA-256 of the document printed canonically (comments and layout dropped,
        definitions sorted): equal for the same operations and fragments however a client
        formats them. None when it does not parse."""
        if self._canonical is None and self.node is not None:
            self._canonical = canonical_hash(self.node)
        return self._canonical

    def validate(
        self, schema: GraphQLSchema, rules: tuple[type[ASTValidationRule], ...]
    ) -> list[GraphQLError]:
        """Validation errors (a new list each time; the errors themselves are shared)."""
        assert self.node is not None
        cached = self._validated
        if cached is None or cached[0] is not schema or cached[1] != rules:
            cached = self._validated = (schema, rules, validate_document(schema, self.node, rules))
        return list(cached[2])


def _sort_key(definition: ExecutableDefinitionNode) -> tuple[int, str]:
    kind = 0 if isinstance(definition, OperationDefinitionNode) else 1
    return kind, definition.name.value if definition.name else ""


def canonical_hash(node: DocumentNode) -> str:
    definitions = sorted(node.definitions, key=_sort_key)  # type: ignore[arg-type]
    printed = print_ast(DocumentNode(definitions=tuple(definitions)))
    return hashlib.sha256(printed.encode()).hexdigest()


class Documents:
    """The per-process document cache of one pipeline (one schema, one set of limits)."""

    def __init__(self, limits: DocumentLimits, maxsize: int = 512) -> None:
        self.limits = limits
        self._cached = lru_cache(maxsize=maxsize)(self._prepare)

    def get(self, text: str) -> Document:
        return self._cached(text) if len(text) <= _KEPT_CHARS else self._prepare(text)

    def _prepare(self, text: str) -> Document:
        try:
            node = parse(text, max_tokens=self.limits.max_tokens)
        except GraphQLError:
            return Document(text, None)
        try:
            return Document(text, node, analysis=analyse_parsed(node, self.limits))
        except DocumentRefused as refused:
            return Document(text, node, refusal=refused)


class PreparedDocument(SchemaExtension):
    """Hands strawberry the document and validation result the pipeline prepared (found in
    the context's `state.document`). Without one (the schema used outside HTTP) strawberry
    parses and validates as usual."""

    def _document(self) -> Document | None:
        state = getattr(self.execution_context.context, "state", None)
        document = getattr(state, "document", None)
        if isinstance(document, Document) and document.node is not None:
            if document.text == self.execution_context.query:
                return document
        return None

    def on_parse(self) -> Iterator[None]:
        if (document := self._document()) is not None:
            self.execution_context.graphql_document = document.node
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if (document := self._document()) is not None:
            context.pre_execution_errors = document.validate(
                context.schema._schema, tuple(context.validation_rules)
            )
        yield
