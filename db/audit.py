"""The audit trail (docs/security.md, Audit trail): an append-only table, one row per key
creation, key revocation, tenant creation and deletion of samples, each also logged.

`record` writes inside the caller's transaction, so the change and its record commit or roll
back together; `log_event` is called by the caller after the commit, so no log line describes
a change that did not happen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.engine import Database

__all__ = ["AuditEntry", "AuditEvent", "list_events", "log_event", "record"]

log = logging.getLogger("audit")


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    """What to record: `actor` is a key id, `cli` or `anonymous` (development mode)."""

    actor: str
    action: str  # e.g. key.create, key.revoke, samples.delete
    target: str
    tenant: str | None = None  # the tenant acted for or on; None: the platform
    request_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class AuditEvent(AuditEntry):
    id: int
    at: datetime

    @classmethod
    def from_row(cls, row: Row[Any]) -> AuditEvent:
        m = row._mapping
        return cls(
            id=m["id"],
            at=m["at"],
            actor=m["actor"],
            action=m["action"],
            target=m["target"],
            tenant=m["tenant"],
            request_id=m["request_id"],
            details=dict(m["details"]),
        )


_COLUMNS = "id, at, actor, action, target, tenant, request_id, details"

_INSERT = text(
    "INSERT INTO audit_log (actor, action, target, tenant, request_id, details) "
    "VALUES (:actor, :action, :target, :tenant, :request_id, CAST(:details AS jsonb)) "
    f"RETURNING {_COLUMNS}"
)


async def record(conn: AsyncConnection, entry: AuditEntry) -> AuditEvent:
    """Append `entry` in the transaction `conn` is in."""
    params = {
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "tenant": entry.tenant,
        "request_id": entry.request_id,
        "details": orjson.dumps(entry.details).decode(),
    }
    return AuditEvent.from_row((await conn.execute(_INSERT, params)).one())


def log_event(event: AuditEvent) -> None:
    log.info(
        "audit %s %s %s",
        event.action,
        event.actor,
        event.target,
        extra={
            "audit_id": event.id,
            "at": event.at.isoformat(),
            "actor": event.actor,
            "action": event.action,
            "target": event.target,
            "tenant": event.tenant,
            "request_id": event.request_id,
            "details": event.details,
        },
    )


async def list_events(
    database: Database, *, since: datetime | None = None, limit: int = 100
) -> list[AuditEvent]:
    """The latest `limit` events at or after `since`, oldest first."""
    stmt = text(
        f"SELECT {_COLUMNS} FROM (SELECT {_COLUMNS} FROM audit_log"
        "  WHERE CAST(:since AS timestamptz) IS NULL OR at >= :since"
        "  ORDER BY at DESC, id DESC LIMIT :limit"
        ") latest ORDER BY at, id"
    )
    async with database.connect() as conn:
        rows = (await conn.execute(stmt, {"since": since, "limit": limit})).all()
    return [AuditEvent.from_row(r) for r in rows]
