"""Which storage errors mean "the database is unavailable right now, retry later".

The gateway answers those with HTTP 503 + Retry-After instead of a masked 500: the database is
down, restarting, refusing connections, overloaded, or a pool/statement timeout fired. The
caller's request had no effect worth reporting (the transaction rolled back), so a retry is
safe: ingest is an idempotent upsert.
"""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
from sqlalchemy import exc as sa_exc

__all__ = ["sqlstate_of", "unavailable_reason"]

# SQLSTATE classes and codes that say "try again later" rather than "your request is wrong".
_TRANSIENT_CLASSES = ("08", "53", "57")  # connection, insufficient resources, operator action
_TRANSIENT_CODES = frozenset({"40001", "40P01", "55P03"})  # serialization, deadlock, lock n/a


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend([current.__cause__, current.__context__])
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException):
            todo.append(orig)


def sqlstate_of(error: BaseException) -> str | None:
    for item in _chain(error):
        state = getattr(item, "sqlstate", None)
        if isinstance(state, str) and len(state) == 5:
            return state
    return None


def unavailable_reason(error: BaseException) -> str | None:
    """A short label ("pool_timeout", "connection", a SQLSTATE, ...) if `error` means the
    database cannot serve the request now; None for anything else (a bug: mask it)."""
    for item in _chain(error):
        if isinstance(item, sa_exc.TimeoutError):
            return "pool_timeout"
        if isinstance(item, sa_exc.DBAPIError) and item.connection_invalidated:
            return "connection"
        state = getattr(item, "sqlstate", None)
        if isinstance(item, asyncpg.PostgresError) and isinstance(state, str):
            if state[:2] in _TRANSIENT_CLASSES or state in _TRANSIENT_CODES:
                return state
        if isinstance(item, asyncpg.InterfaceError) and "connection" in str(item).lower():
            return "connection"  # "connection is closed", "connection was closed in the middle"
        if isinstance(item, TimeoutError):
            return "timeout"  # asyncpg command_timeout / connect timeout
        if isinstance(item, OSError):
            return "connection"  # refused, reset, unreachable, DNS
    return None
