"""Scopes and the permission every root field declares.

The gateway authenticates the request and puts a `Principal` in the context; fields only
check scopes. `required_scope` lets the HTTP layer and the tests read a field's scope.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from resolvers.errors import Forbidden

__all__ = ["Principal", "RequireScope", "Scope", "required_scope", "scoped"]


class Scope(enum.Enum):
    READ = "read"
    INGEST = "ingest"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    key_id: str | None  # None for anonymous (development mode only)
    scopes: frozenset[Scope]
    # The tenant the request acts for (None: the platform): a tenant key's own tenant, or the
    # one a platform key names in X-Tenant (docs/security.md, Tenants).
    tenant: str | None = None
    platform_key: bool = True  # created without --tenant (operators, the SMARD scraper)

    @classmethod
    def anonymous_dev(cls) -> Principal:
        return cls(key_id=None, scopes=frozenset(Scope))


class RequireScope(BasePermission):
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.message = f"this field needs the '{scope.value}' scope"

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        principal: Principal | None = getattr(info.context, "principal", None)
        return principal is not None and self.scope in principal.scopes

    def on_unauthorized(self) -> None:
        raise Forbidden(self.message or "forbidden")


def scoped(scope: Scope) -> list[FieldExtension]:
    """Field extensions for a root field that needs `scope`."""
    return [PermissionExtension(permissions=[RequireScope(scope)])]


def required_scope(extensions: list[FieldExtension]) -> Scope | None:
    for extension in extensions:
        if isinstance(extension, PermissionExtension):
            for permission in extension.permissions:
                if isinstance(permission, RequireScope):
                    return permission.scope
    return None
