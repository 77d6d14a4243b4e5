"""API key storage. Only SHA-256 digests of tokens are stored; token format lives in the gateway.

`last_used_at` is written at most once per `touch_every_s` per key so a busy key does not turn
every read into a write.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text

from db.engine import Database

__all__ = ["ApiKey", "KeyMatch", "create_key", "find_key", "list_keys", "revoke_key"]


@dataclass(frozen=True, kw_only=True)
class ApiKey:
    id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: Row[Any]) -> ApiKey:
        m = row._mapping
        return cls(
            id=m["id"],
            name=m["name"],
            scopes=tuple(m["scopes"]),
            created_at=m["created_at"],
            expires_at=m["expires_at"],
            last_used_at=m["last_used_at"],
            revoked_at=m["revoked_at"],
        )


@dataclass(frozen=True, kw_only=True)
class KeyMatch:
    """The key a digest belongs to, and whether it may be used now."""

    id: str
    scopes: tuple[str, ...]
    usable: bool  # not revoked and not expired


_COLUMNS = "id, name, scopes, created_at, expires_at, last_used_at, revoked_at"

_FIND = text(
    """
    WITH k AS (
        SELECT id, scopes,
               revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) AS usable
        FROM api_keys WHERE token_sha256 = :digest
    ), touched AS (
        UPDATE api_keys SET last_used_at = now()
        WHERE id IN (SELECT id FROM k WHERE usable)
          AND (last_used_at IS NULL
               OR last_used_at < now() - make_interval(secs => :touch_every_s))
        RETURNING id
    )
    SELECT id, scopes, usable FROM k
    """
)


async def create_key(
    database: Database,
    *,
    digest: bytes,
    scopes: Sequence[str],
    name: str = "",
    expires_at: datetime | None = None,
) -> ApiKey:
    stmt = text(
        "INSERT INTO api_keys (id, token_sha256, name, scopes, expires_at) "
        f"VALUES (:id, :digest, :name, CAST(:scopes AS text[]), :expires_at) RETURNING {_COLUMNS}"
    )
    params = {
        "id": f"key_{secrets.token_hex(6)}",
        "digest": digest,
        "name": name,
        "scopes": list(scopes),
        "expires_at": expires_at,
    }
    async with database.begin() as conn:
        row = (await conn.execute(stmt, params)).one()
    return ApiKey.from_row(row)


async def find_key(
    database: Database, digest: bytes, *, touch_every_s: float = 60.0
) -> KeyMatch | None:
    async with database.begin() as conn:
        row = (
            await conn.execute(_FIND, {"digest": digest, "touch_every_s": touch_every_s})
        ).first()
    if row is None:
        return None
    return KeyMatch(id=row.id, scopes=tuple(row.scopes), usable=bool(row.usable))


async def list_keys(database: Database, *, include_revoked: bool = False) -> list[ApiKey]:
    where = "" if include_revoked else "WHERE revoked_at IS NULL"
    stmt = text(f"SELECT {_COLUMNS} FROM api_keys {where} ORDER BY created_at, id")
    async with database.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    return [ApiKey.from_row(r) for r in rows]


async def revoke_key(database: Database, key_id: str) -> bool:
    """Revoke a key; False if there is no such key or it was already revoked."""
    stmt = text(
        "UPDATE api_keys SET revoked_at = now() WHERE id = :id AND revoked_at IS NULL RETURNING id"
    )
    async with database.begin() as conn:
        row = (await conn.execute(stmt, {"id": key_id})).first()
    return row is not None
