"""API key tokens: `egw_<scopes>_<random><crc32>`, GitHub-style.

The prefix names the scopes (`ro` read, `in` ingest, `ad` admin) so secret scanners and humans
can tell what leaked; it is never trusted: scopes come from the database. The CRC32 suffix
lets the gateway reject mistyped or made-up tokens without a database lookup. Only the SHA-256
of a token is stored (tokens are 256-bit random, so a slow KDF adds nothing).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from db import keys as db_keys
from db.engine import Database
from gateway.key_cache import evict_everywhere
from resolvers.auth import Scope

__all__ = ["IssuedKey", "digest", "issue_key", "mint_token", "revoke_key", "well_formed"]

_CODES = {Scope.READ: "ro", Scope.INGEST: "in", Scope.ADMIN: "ad"}
_ORDER = (Scope.READ, Scope.INGEST, Scope.ADMIN)
_TOKEN = re.compile(r"egw_(?:ro|in|ad){1,3}_[A-Za-z0-9_-]{43}[0-9a-f]{8}")
# What a token looks like anywhere in text (logs, dumps): used by tests and scanners.
TOKEN_PATTERN = re.compile(r"egw_[a-z]{2,6}_[A-Za-z0-9_-]{20,}")


def _checksum(body: str) -> str:
    return f"{zlib.crc32(body.encode()):08x}"


def mint_token(scopes: Iterable[Scope]) -> str:
    wanted = set(scopes)
    prefix = "".join(_CODES[s] for s in _ORDER if s in wanted)
    if not prefix:
        raise ValueError("a key needs at least one scope")
    body = f"egw_{prefix}_{secrets.token_urlsafe(32)}"
    return body + _checksum(body)


def well_formed(token: str) -> bool:
    """Format and checksum only; says nothing about whether the key exists."""
    if _TOKEN.fullmatch(token) is None:
        return False
    return secrets.compare_digest(_checksum(token[:-8]), token[-8:])


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class IssuedKey:
    token: str  # shown once; never stored
    key: db_keys.ApiKey


async def issue_key(
    database: Database,
    scopes: Iterable[Scope],
    *,
    name: str = "",
    expires_at: datetime | None = None,
    tenant: str | None = None,
    actor: str = "cli",
) -> IssuedKey:
    """Mint and store a key; `actor` is who the audit trail names (only the CLI issues keys)."""
    wanted = [s for s in _ORDER if s in set(scopes)]
    token = mint_token(wanted)
    key = await db_keys.create_key(
        database,
        digest=digest(token),
        scopes=[s.value for s in wanted],
        name=name,
        expires_at=expires_at,
        tenant=tenant,
        actor=actor,
    )
    return IssuedKey(token=token, key=key)


async def revoke_key(database: Database, key_id: str, *, actor: str = "cli") -> bool:
    """Revoke a key; this process refuses it at once, others when they hear the NOTIFY or
    their cache entry expires. False if there is no such active key."""
    revoked = await db_keys.revoke_key(database, key_id, actor=actor)
    evict_everywhere(key_id)
    return revoked
