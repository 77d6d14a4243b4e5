"""Authentication and scope checks at the HTTP level.

`Authenticator` turns an `Authorization: Bearer egw_...` header into a `Principal`. `ScopeMap`
knows the scope each root field declares (`resolvers.auth.required_scope`), and
`operation_scopes` reads which root fields a document's operation selects, following
fragments, without validating it. The guard in `gateway.endpoint` answers 401 (missing or bad
key, with `WWW-Authenticate`) and 403 (missing scope) before any resolver runs, so clients see
an HTTP status they must not retry. The field permissions stay in place as a second line.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import strawberry
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

from db import keys as db_keys
from db.engine import Database
from gateway.key_cache import CachedKey, KeyCache
from gateway.keys import digest, well_formed
from resolvers.auth import Principal, Scope, required_scope

__all__ = [
    "AuthError",
    "Authenticator",
    "Operation",
    "ScopeMap",
    "analyse_operation",
]


class AuthError(Exception):
    """Missing, malformed, unknown, revoked or expired credentials (HTTP 401)."""

    def __init__(self, message: str, *, presented: bool) -> None:
        super().__init__(message)
        self.presented = presented  # a token was sent (RFC 6750 error="invalid_token")


class Authenticator:
    """Verifies keys against the database through an in-process cache (gateway.key_cache).

    `last_used_at` is written by the lookups that fill the cache, so with the cache on it is
    accurate to within max(cache lifetime, `touch_every_s`)."""

    def __init__(
        self,
        database: Database,
        *,
        allow_anonymous: bool,
        touch_every_s: float,
        cache_ttl_s: float = 0.0,
        cache_size: int = 10_000,
    ) -> None:
        self.database = database
        self.allow_anonymous = allow_anonymous
        self.touch_every_s = touch_every_s
        self.cache = KeyCache(ttl_s=cache_ttl_s, size=cache_size)
        self._listener: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()  # set once the revocation listener is connected

    def start(self) -> None:
        """Evict revoked keys as soon as any process revokes them (PostgreSQL NOTIFY)."""
        if self.cache.enabled and self._listener is None:
            self._listener = asyncio.create_task(
                db_keys.listen_for_revocations(
                    self.database.url, on_revoked=self.cache.evict, on_gap=self._listening
                ),
                name="key-revocations",
            )

    def _listening(self) -> None:
        self.cache.clear()  # what was revoked while nobody listened
        self.listening.set()

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def authenticate(self, authorization: str | None) -> Principal:
        """The caller's principal; raises AuthError. A presented key is always verified, also
        in development mode where an absent key means anonymous with every scope."""
        if not authorization:
            if self.allow_anonymous:
                return Principal.anonymous_dev()
            raise AuthError("an API key is required: Authorization: Bearer <key>", presented=False)
        kind, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if kind.lower() != "bearer" or not token:
            raise AuthError("use Authorization: Bearer <key>", presented=True)
        if not well_formed(token):
            raise AuthError("malformed API key", presented=True)  # no database lookup
        token_digest = digest(token)
        cached = self.cache.known(token_digest)
        if cached is not None and not cached.expired():
            return cached.principal
        if cached is None and not self.cache.refused(token_digest):
            match = await db_keys.find_key(
                self.database, token_digest, touch_every_s=self.touch_every_s
            )
            if match is not None and match.usable:
                principal = Principal(
                    key_id=match.id, scopes=frozenset(Scope(s) for s in match.scopes)
                )
                self.cache.remember(token_digest, CachedKey(principal, match.expires_at))
                return principal
        self.cache.refuse(token_digest)
        raise AuthError("unknown, revoked or expired API key", presented=True)


class ScopeMap:
    """(operation type, root field name) -> scope, read from the schema's field extensions."""

    def __init__(self, schema: strawberry.Schema) -> None:
        self._scopes: dict[tuple[str, str], Scope | None] = {}
        for kind, type_name in (("query", "Query"), ("mutation", "Mutation")):
            definition = schema.get_type_by_name(type_name)
            for field in getattr(definition, "fields", ()):
                name = schema.config.name_converter.get_graphql_name(field)
                self._scopes[(kind, name)] = required_scope(list(field.extensions))

    def fields(self) -> dict[tuple[str, str], Scope | None]:
        return dict(self._scopes)

    def needed(self, kind: str, fields: Iterable[str]) -> set[Scope]:
        """Scopes an operation needs. A root field without a declared scope needs admin (fail
        closed); unknown fields need nothing here because validation rejects them."""
        needed: set[Scope] = set()
        for name in fields:
            if name.startswith("__"):
                continue  # __typename, and introspection (switched off in production)
            key = (kind, name)
            if key in self._scopes:
                needed.add(self._scopes[key] or Scope.ADMIN)
        return needed


@dataclass(frozen=True)
class Operation:
    kind: str  # "query" | "mutation" | "subscription"
    name: str | None
    root_fields: frozenset[str]


def _root_fields(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> set[str]:
    found: set[str] = set()
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            found.add(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            found |= _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name not in seen and name in fragments:
                seen.add(name)
                found |= _root_fields(fragments[name].selection_set, fragments, seen)
    return found


def _select(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        return operations[0] if len(operations) == 1 else None
    for op in operations:
        if op.name is not None and op.name.value == operation_name:
            return op
    return None


_CACHED_QUERY_CHARS = 16_384  # a long string literal is one token: bound the cache's memory


def analyse_operation(query: str, operation_name: str | None, max_tokens: int) -> Operation | None:
    """The operation a request would run, or None when the document does not parse or names
    no runnable operation (the GraphQL layer then reports the error itself)."""
    if len(query) <= _CACHED_QUERY_CHARS:
        return _analyse_cached(query, operation_name, max_tokens)
    return _analyse(query, operation_name, max_tokens)


def _analyse(query: str, operation_name: str | None, max_tokens: int) -> Operation | None:
    try:
        document = parse(query, max_tokens=max_tokens, no_location=True)
    except GraphQLError:
        return None
    operation = _select(document, operation_name)
    if operation is None:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    fields = _root_fields(operation.selection_set, fragments, set())
    return Operation(
        kind=operation.operation.value,
        name=operation.name.value if operation.name else None,
        root_fields=frozenset(fields),
    )


_analyse_cached = lru_cache(maxsize=512)(_analyse)
