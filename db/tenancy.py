"""The tenant a request acts for, and the one place that turns it into SQL (docs/security.md).

A request acts for one tenant, or for the platform (tenant `None`). It reads its own rows and
the platform's (market data); a platform row whose key the tenant also uses is shadowed by the
tenant's own. It writes only its own rows. Every query of the db layer over `series` and
`sites` applies `readable` or `owned`; PostgreSQL row-level security enforces the same rule a
second time for the gateway's database role (migration 0081, `db.engine.Database`).

The scope travels in a context variable set by the gateway around a request's execution, so
resolvers, DataLoaders and the db layer see it without passing it through every signature.
Outside a request (CLI, background work, tests of the db layer) the scope is the platform and
the connection's own role is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, exists, literal, or_, select, true

__all__ = [
    "TenantScope",
    "acting_for",
    "application_filter",
    "current",
    "owned",
    "owned_sql",
    "owns",
    "readable",
    "readable_sql",
    "request_scope",
    "session_settings",
    "tenant_param",
]


@dataclass(frozen=True)
class TenantScope:
    tenant: str | None  # None: the platform


_PLATFORM = TenantScope(None)
_scope: ContextVar[TenantScope | None] = ContextVar("tenant_scope", default=None)

# Tests only (tests/tenants/test_rls_alone.py): with the filter off, the db layer's queries
# carry no tenant predicate and row-level security alone must keep tenants apart.
_filter_on = True


def current() -> TenantScope:
    return _scope.get() or _PLATFORM


def request_scope() -> TenantScope | None:
    """The scope set by a request, or None outside requests (no role switch then)."""
    return _scope.get()


@contextmanager
def acting_for(tenant: str | None) -> Iterator[TenantScope]:
    """Run the block as a request acting for `tenant` (None: the platform)."""
    scope = TenantScope(tenant)
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


@contextmanager
def application_filter(on: bool) -> Iterator[None]:
    """Switch the db layer's tenant predicate off (tests of row-level security alone)."""
    global _filter_on
    before, _filter_on = _filter_on, on
    try:
        yield
    finally:
        _filter_on = before


def owns(row_tenant: str | None) -> bool:
    """Whether the current scope may write a row of `row_tenant`."""
    return row_tenant == current().tenant


def owned(table: Table) -> ColumnElement[bool]:
    """Rows the current scope may write: its own."""
    if not _filter_on:
        return true()
    tenant = current().tenant
    column = table.c.tenant
    return column.is_(None) if tenant is None else column == tenant


def owned_sql(column: str = "tenant") -> str:
    """`owned` for text SQL; bind `:tenant` to `tenant_param()`."""
    return f"{column} IS NOT DISTINCT FROM CAST(:tenant AS text)" if _filter_on else "TRUE"


def readable_sql(table: str = "series", tenant: str = ":tenant") -> str:
    """`readable` for text SQL over `table` (unaliased), with `tenant` as the placeholder to
    bind to `tenant_param()` (`$2` in an asyncpg statement). For hand-written statements such
    as prepared key lookups."""
    if not _filter_on:
        return "TRUE"
    if current().tenant is None:
        return f"{table}.tenant IS NULL"
    return (
        f"({table}.tenant = {tenant} OR ({table}.tenant IS NULL AND NOT EXISTS ("
        f"SELECT 1 FROM {table} mine WHERE mine.key = {table}.key AND mine.tenant = {tenant})))"
    )


def tenant_param() -> str | None:
    return current().tenant


def readable(table: Table) -> ColumnElement[bool]:
    """Rows the current scope may read: its own, and the platform's unless shadowed by one of
    its own with the same key (own rows take precedence)."""
    if not _filter_on:
        return true()
    tenant = current().tenant
    column = table.c.tenant
    if tenant is None:
        return column.is_(None)
    mine = table.alias("mine")
    shadowed = exists(
        select(literal(1)).where(and_(mine.c.key == table.c.key, mine.c.tenant == tenant))
    )
    return or_(column == tenant, and_(column.is_(None), ~shadowed))


def session_settings() -> dict[str, Any] | None:
    """`gateway.tenant` for the current request ('' for the platform), None outside requests."""
    scope = request_scope()
    if scope is None:
        return None
    return {"tenant": scope.tenant or ""}
