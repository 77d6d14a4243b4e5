"""Automatic persisted queries (Apollo's protocol) and the allow-list of documents
(docs/api.md, "Persisted queries").

A client sends `extensions.persistedQuery = {"version": 1, "sha256Hash": <hex>}`, without
`query` once it believes the gateway knows the document. An unknown hash is answered with
`PERSISTED_QUERY_NOT_FOUND` (HTTP 200, as Apollo's clients expect) and the client sends the
query with the hash; the gateway checks that the hash is the query's SHA-256, runs it and
keeps it. The store is per process and bounded (LRU): with several replicas a miss on
another replica is one more round trip, which the protocol handles.

With `persisted_queries_only` (the allow-list mode for production) only documents registered
at start-up run: `.graphql` files (each operation with the fragments it uses, and the whole
file) or a JSON manifest. A document is recognised by its canonical form (comments and
layout dropped, definitions sorted), so a client's own formatting of a registered operation
passes; anything else is refused with `DOCUMENT_NOT_ALLOWED`.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    print_ast,
)

from gateway.documents import canonical_hash

__all__ = [
    "AllowList",
    "PersistedQueries",
    "PersistedQuery",
    "load_allow_list",
    "parse_persisted_query",
    "sha256_hex",
]

_HASH = re.compile(r"[0-9a-f]{64}")
_KEPT_CHARS = 16_384  # longer documents run but are not kept: bounds the store's memory


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class PersistedQuery:
    sha256: str  # lower-case hex


def parse_persisted_query(value: object) -> PersistedQuery | str:
    """The `persistedQuery` extension, or what is wrong with it."""
    if not isinstance(value, dict):
        return "`extensions.persistedQuery` must be an object"
    if value.get("version") != 1:
        return "unsupported persisted query version: send `version: 1`"
    digest = value.get("sha256Hash")
    if not isinstance(digest, str) or not _HASH.fullmatch(digest.lower()):
        return "`sha256Hash` must be the query's SHA-256 as 64 hex digits"
    return PersistedQuery(digest.lower())


@dataclass
class AllowList:
    canonical: set[str] = field(default_factory=set)  # canonical hashes of allowed documents
    by_id: dict[str, str] = field(default_factory=dict)  # id or SHA-256 of a text -> text

    def add(self, text: str, origin: str, ids: Iterable[str] = ()) -> None:
        try:
            document = parse(text)
        except GraphQLError as exc:
            raise ValueError(f"{origin}: not a GraphQL document: {exc.message}") from None
        self.canonical.add(canonical_hash(document))
        for key in (sha256_hex(text), *ids):
            self.by_id[key] = text
        for operation in _operations_with_fragments(document):
            self.canonical.add(canonical_hash(operation))
            printed = print_ast(operation)
            self.by_id[sha256_hex(printed)] = printed


def _operations_with_fragments(document: DocumentNode) -> list[DocumentNode]:
    """Each operation of a file as a document of its own, with the fragments it spreads."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    out: list[DocumentNode] = []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        used: dict[str, FragmentDefinitionNode] = {}
        todo: list[SelectionSetNode] = [definition.selection_set]
        while todo:
            for selection in todo.pop().selections:
                if isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    if name in fragments and name not in used:
                        used[name] = fragments[name]
                        todo.append(fragments[name].selection_set)
                elif (below := getattr(selection, "selection_set", None)) is not None:
                    todo.append(below)
        out.append(DocumentNode(definitions=(definition, *used.values())))
    return out


def load_allow_list(path: Path) -> AllowList:
    """`.graphql`/`.gql` files (a file, or a directory searched recursively) or a JSON
    manifest: Apollo's persisted query manifest (`operations: [{id, body}]`) or an object
    mapping ids to documents. Raises ValueError naming what is wrong."""
    allow = AllowList()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in {".graphql", ".gql"})
        if not files:
            raise ValueError(f"{path}: no .graphql files")
        for file in files:
            allow.add(file.read_text(), str(file))
    elif path.suffix == ".json":
        for ids, body in _manifest(path):
            allow.add(body, str(path), ids)
    else:
        allow.add(path.read_text(), str(path))
    return allow


def _manifest(path: Path) -> list[tuple[list[str], str]]:
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from None
    entries: list[tuple[list[str], str]] = []
    if isinstance(data, dict) and isinstance(data.get("operations"), list):
        for op in data["operations"]:
            if not (isinstance(op, dict) and isinstance(op.get("body"), str)):
                raise ValueError(f"{path}: each operation needs a string `body`")
            ids = [op["id"]] if isinstance(op.get("id"), str) else []
            entries.append((ids, op["body"]))
    elif isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
        entries = [([key], body) for key, body in data.items()]
    else:
        raise ValueError(f"{path}: expected {{operations: [{{id, body}}]}} or {{id: document}}")
    return entries


class PersistedQueries:
    """The process's store of documents by hash, the registered documents, and whether only
    those may run."""

    def __init__(
        self,
        *,
        enabled: bool,
        size: int,
        registered: AllowList | None = None,
        only: bool = False,
    ) -> None:
        if only and registered is None:
            raise ValueError("the allow-list mode needs registered documents")
        self.enabled = enabled or only
        self.size = size
        self.registered = registered
        self.only = only
        self._store: OrderedDict[str, str] = OrderedDict()

    def lookup(self, digest: str) -> str | None:
        if self.registered is not None and (text := self.registered.by_id.get(digest)):
            return text
        text = self._store.get(digest)
        if text is not None:
            self._store.move_to_end(digest)
        return text

    def store(self, digest: str, text: str) -> None:
        """Keep a document whose hash was checked and which passed the analysis."""
        if len(text) > _KEPT_CHARS or self.size == 0:
            return
        self._store[digest] = text
        self._store.move_to_end(digest)
        while len(self._store) > self.size:
            self._store.popitem(last=False)

    def allowed(self, canonical: str | None) -> bool:
        """Whether a document (by its canonical hash) may run."""
        if not self.only:
            return True
        assert self.registered is not None
        return canonical is not None and canonical in self.registered.canonical

    @classmethod
    def from_settings(
        cls, *, enabled: bool, size: int, only: bool, documents: str | None
    ) -> PersistedQueries:
        """Raises ValueError (at start-up) for the allow-list mode without documents or for
        documents that cannot be read."""
        if only and not documents:
            raise ValueError(
                "GATEWAY_PERSISTED_QUERIES_ONLY needs GATEWAY_PERSISTED_DOCUMENTS "
                "(the registered documents)"
            )
        registered = load_allow_list(Path(documents)) if documents else None
        return cls(enabled=enabled, size=size, registered=registered, only=only)
