"""Count the SQL statements an app sends, to catch N+1 queries and work done too early."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from starlette.applications import Starlette

_PLUMBING = {"", "COMMIT", "ROLLBACK", "SELECT 1"}


@contextmanager
def captured_sql(app: Starlette) -> Iterator[list[str]]:
    """Statements sent through SQLAlchemy and those the read path sends on the asyncpg
    connection itself (db/aggregate.py), each once."""
    engine = app.state.database.engine.sync_engine
    statements: list[str] = []
    logged: list[Any] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def direct(query: Any) -> None:
        # SQLAlchemy's own transaction control and pool pings also pass the driver, and so
        # does asyncpg's type introspection the first time a connection meets a type.
        text = query.query.rstrip(";").strip().upper()
        internal = text.startswith("BEGIN") or "TYPEINFO_TREE" in text or "'JIT'" in text
        if text not in _PLUMBING and not internal:
            statements.append(query.query)

    def checkout(dbapi_conn: Any, record_: Any, proxy: Any) -> None:
        driver = dbapi_conn.driver_connection
        driver.add_query_logger(direct)
        logged.append(driver)

    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine, "checkout", checkout)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine, "checkout", checkout)
        for driver in logged:
            driver.remove_query_logger(direct)
