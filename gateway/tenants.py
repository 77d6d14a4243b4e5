"""Which tenant a request acts for: the key's own, or the one a platform key names in the
`X-Tenant` header (docs/security.md, Tenants and X-Tenant).

A tenant key may send `X-Tenant` only with its own tenant's name. Any other name is refused
with the same answer whether that tenant exists or not, so keys cannot probe for tenants.
A platform key naming a tenant that does not exist gets that answer too: operators act for
customers that exist, and a typo must not write platform data or create a tenant.
"""

from __future__ import annotations

import dataclasses
import re
import time

from cachetools import TTLCache

from db import keys as db_keys
from db.engine import Database
from resolvers.auth import Principal

__all__ = ["TENANT_HEADER", "TENANT_NAME", "TenantRefused", "TenantResolver"]

TENANT_HEADER = "x-tenant"
TENANT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # as the CHECK of migration 0080


class TenantRefused(Exception):
    """X-Tenant names a tenant this key may not act for (HTTP 403)."""


class TenantResolver:
    """Applies X-Tenant to a principal. Tenants are never deleted, so a tenant seen once is
    remembered (bounded; `ttl_s` as the key cache so a restore from backup is picked up)."""

    def __init__(self, database: Database, *, ttl_s: float = 30.0) -> None:
        self.database = database
        self._known: TTLCache[str, bool] = TTLCache(4096, max(ttl_s, 1.0), timer=time.monotonic)

    async def resolve(self, principal: Principal, header: str | None) -> Principal:
        if header is None:
            return principal
        name = header.strip()
        refused = TenantRefused(f"this key cannot act for tenant {name[:63]!r}")
        if not principal.platform_key:
            if name != principal.tenant:
                raise refused
            return principal
        if TENANT_NAME.fullmatch(name) is None or not await self._exists(name):
            raise refused
        return dataclasses.replace(principal, tenant=name)

    async def _exists(self, name: str) -> bool:
        if name in self._known:
            return True
        if await db_keys.tenant_exists(self.database, name):
            self._known[name] = True
            return True
        return False
