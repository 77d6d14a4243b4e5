"""Per-tenant concurrency of `ingest` calls (docs/limits.md, "Ingest concurrency").

A tenant backfilling at full speed may run `ingest_max_concurrent` ingest calls at once in
one process; one more is refused at once with 429 CONCURRENCY_LIMITED and `Retry-After`,
before its variables are coerced or a connection is taken. Together with the ingest pool
(`db.engine`) this keeps a backfill to a bounded share of the gateway and the database.

Until keys belong to tenants, the identity is the key: `tenant_identity` is the one place
that changes when principals carry their tenant.
"""

from __future__ import annotations

from collections import Counter

from resolvers.auth import Principal

__all__ = ["IngestSlots", "tenant_identity"]


def tenant_identity(principal: Principal) -> str:
    """Whose slots a call takes: the tenant's it acts for (a tenant key, or a platform key
    with X-Tenant), else the platform key's own."""
    if principal.tenant is not None:
        return f"tenant:{principal.tenant}"
    return f"key:{principal.key_id}" if principal.key_id is not None else "anonymous"


class IngestSlots:
    """Ingest calls in flight per identity, in this process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.running: Counter[str] = Counter()

    def claim(self, identity: str) -> bool:
        if self.running[identity] >= self.limit:
            return False
        self.running[identity] += 1
        return True

    def release(self, identity: str) -> None:
        left = self.running[identity] - 1
        if left > 0:
            self.running[identity] = left
        else:
            del self.running[identity]
