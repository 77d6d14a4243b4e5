"""Authentication and scope checks at the HTTP level.

`Authenticator` turns an `Authorization: Bearer egw_...` header into a `Principal`. `ScopeMap`
knows the scope each root field declares (`resolvers.auth.required_scope`), and
`gateway.analysis` reads which root fields the operation that will execute selects,
following fragments, before validation. The guard in `gateway.pipeline` answers 401 (missing or bad
key, with `WWW-Authenticate`) and 403 (missing scope) before any resolver runs, so clients see
an HTTP status they must not retry. The field permissions stay in place as a second line.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

import strawberry

from db import keys as db_keys
from db.engine import Database
from gateway.key_cache import CachedKey, KeyCache
from gateway.keys import digest, well_formed
from resolvers.auth import Principal, Scope, required_scope

__all__ = [
    "AuthError",
    "Authenticator",
    "ScopeMap",
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
                    key_id=match.id,
                    scopes=frozenset(Scope(s) for s in match.scopes),
                    tenant=match.tenant,
                    platform_key=match.tenant is None,
                )
                self.cache.remember(token_digest, CachedKey(principal, match.expires_at))
                return principal
        self.cache.refuse(token_digest)
        raise AuthError("unknown, revoked or expired API key", presented=True)


class ScopeMap:
    """(operation type, root field name) -> scope, read from the schema's field extensions."""

    def __init__(self, schema: strawberry.Schema) -> None:
        self._scopes: dict[tuple[str, str], Scope | None] = {}
        kinds = (("query", "Query"), ("mutation", "Mutation"), ("subscription", "Subscription"))
        for kind, type_name in kinds:
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
