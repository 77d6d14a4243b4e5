"""API key storage. Only SHA-256 digests of tokens are stored; token format lives in the gateway.

`last_used_at` is written at most once per `touch_every_s` per key so a busy key does not turn
every read into a write.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import Row, text

from db import audit
from db.engine import Database

__all__ = [
    "REVOCATIONS_CHANNEL",
    "ApiKey",
    "KeyMatch",
    "create_key",
    "find_key",
    "list_keys",
    "listen_for_revocations",
    "revoke_key",
    "tenant_exists",
]

REVOCATIONS_CHANNEL = "api_keys"  # NOTIFY payload: the revoked key's id

log = logging.getLogger("db.keys")


@dataclass(frozen=True, kw_only=True)
class ApiKey:
    id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    tenant: str | None = None  # None: a platform key

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
            tenant=m["tenant"],
        )


@dataclass(frozen=True, kw_only=True)
class KeyMatch:
    """The key a digest belongs to, and whether it may be used now."""

    id: str
    scopes: tuple[str, ...]
    usable: bool  # not revoked and not expired
    expires_at: datetime | None
    tenant: str | None = None  # None: a platform key


_COLUMNS = "id, name, scopes, created_at, expires_at, last_used_at, revoked_at, tenant"

_FIND = text(
    """
    WITH k AS (
        SELECT id, scopes, expires_at, tenant,
               revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) AS usable
        FROM api_keys WHERE token_sha256 = :digest
    ), touched AS (
        UPDATE api_keys SET last_used_at = now()
        WHERE id IN (SELECT id FROM k WHERE usable)
          AND (last_used_at IS NULL
               OR last_used_at < now() - make_interval(secs => :touch_every_s))
        RETURNING id
    )
    SELECT id, scopes, usable, expires_at, tenant FROM k
    """
)


async def create_key(
    database: Database,
    *,
    digest: bytes,
    scopes: Sequence[str],
    name: str = "",
    expires_at: datetime | None = None,
    tenant: str | None = None,
    actor: str = "cli",
) -> ApiKey:
    """Store a new key and its `key.create` audit record in one transaction. The key's
    tenant comes into being with its first key (`tenant.create`, audited too)."""
    stmt = text(
        "INSERT INTO api_keys (id, token_sha256, name, scopes, expires_at, tenant) "
        "VALUES (:id, :digest, :name, CAST(:scopes AS text[]), :expires_at, :tenant) "
        f"RETURNING {_COLUMNS}"
    )
    params = {
        "id": f"key_{secrets.token_hex(6)}",
        "digest": digest,
        "name": name,
        "scopes": list(scopes),
        "expires_at": expires_at,
        "tenant": tenant,
    }
    events = []
    async with database.begin() as conn:
        if tenant is not None:
            created = await conn.execute(
                text("INSERT INTO tenants (name) VALUES (:name) ON CONFLICT DO NOTHING"),
                {"name": tenant},
            )
            if created.rowcount:
                events.append(
                    await audit.record(
                        conn,
                        audit.AuditEntry(
                            actor=actor, action="tenant.create", target=tenant, tenant=tenant
                        ),
                    )
                )
        key = ApiKey.from_row((await conn.execute(stmt, params)).one())
        event = await audit.record(
            conn,
            audit.AuditEntry(
                actor=actor,
                action="key.create",
                target=f"{key.id} {key.name!r}",
                tenant=key.tenant,
                details={
                    "key_id": key.id,
                    "name": key.name,
                    "scopes": list(key.scopes),
                    "expires_at": key.expires_at.isoformat() if key.expires_at else None,
                },
            ),
        )
    for each in [*events, event]:
        audit.log_event(each)
    return key


async def find_key(
    database: Database, digest: bytes, *, touch_every_s: float = 60.0
) -> KeyMatch | None:
    async with database.begin() as conn:
        row = (
            await conn.execute(_FIND, {"digest": digest, "touch_every_s": touch_every_s})
        ).first()
    if row is None:
        return None
    return KeyMatch(
        id=row.id,
        scopes=tuple(row.scopes),
        usable=bool(row.usable),
        expires_at=row.expires_at,
        tenant=row.tenant,
    )


async def tenant_exists(database: Database, name: str) -> bool:
    async with database.connect() as conn:
        found = await conn.execute(text("SELECT 1 FROM tenants WHERE name = :name"), {"name": name})
        return found.first() is not None


async def list_keys(database: Database, *, include_revoked: bool = False) -> list[ApiKey]:
    where = "" if include_revoked else "WHERE revoked_at IS NULL"
    stmt = text(f"SELECT {_COLUMNS} FROM api_keys {where} ORDER BY created_at, id")
    async with database.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    return [ApiKey.from_row(r) for r in rows]


async def revoke_key(database: Database, key_id: str, *, actor: str = "cli") -> bool:
    """Revoke a key, with its `key.revoke` audit record in the same transaction; False if
    there is no such key or it was already revoked. Gateways that listen on channel
    `api_keys` hear the key id when the revocation commits."""
    stmt = text(
        "UPDATE api_keys SET revoked_at = now() WHERE id = :id AND revoked_at IS NULL "
        "RETURNING id, name, tenant"
    )
    async with database.begin() as conn:
        row = (await conn.execute(stmt, {"id": key_id})).first()
        if row is None:
            return False
        await conn.execute(text("SELECT pg_notify(:channel, :id)"), {
            "channel": REVOCATIONS_CHANNEL, "id": key_id})  # fmt: skip
        event = await audit.record(
            conn,
            audit.AuditEntry(
                actor=actor,
                action="key.revoke",
                target=f"{key_id} {row.name!r}",
                tenant=row.tenant,
                details={"key_id": key_id, "name": row.name},
            ),
        )
    audit.log_event(event)
    return True


async def listen_for_revocations(
    url: str,
    *,
    on_revoked: Callable[[str], None],
    on_gap: Callable[[], None],
    retry_s: float = 5.0,
) -> None:
    """Call `on_revoked(key_id)` for each revocation any process commits, until cancelled.

    Runs on a dedicated connection (a LISTEN holds its connection for good, so not one from
    the pool). Notifications sent while it is down are lost, so `on_gap()` runs each time the
    listener is (re)connected: callers forget what they cached.
    """
    while True:
        try:
            await _listen_once(url, on_revoked=on_revoked, on_gap=on_gap, timeout_s=retry_s)
            log.warning("key revocation listener lost its connection; reconnecting")
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            log.warning("key revocation listener cannot listen: %s", type(exc).__name__)
        await asyncio.sleep(retry_s)


async def _listen_once(
    url: str,
    *,
    on_revoked: Callable[[str], None],
    on_gap: Callable[[], None],
    timeout_s: float,
) -> None:
    """Listen until the connection closes."""
    conn = await asyncpg.connect(url, timeout=timeout_s)
    closed = asyncio.Event()
    conn.add_termination_listener(lambda _conn: closed.set())
    try:
        await conn.add_listener(
            REVOCATIONS_CHANNEL, lambda _conn, _pid, _channel, key_id: on_revoked(key_id)
        )
        on_gap()
        await closed.wait()
    finally:
        await conn.close(timeout=1)
