"""db/tables.py describes every table of the migrated database, column by column (name, type,
nullability, identity, server default) with its primary and unique keys, so the two cannot
drift apart."""

from __future__ import annotations

import asyncpg
from sqlalchemy import Identity, Table, UniqueConstraint
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import TextClause

from db.tables import metadata

Column = tuple[str, str, bool, bool, str | None]  # name, type, nullable, identity, default
_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy


def _declared(table: Table) -> list[Column]:
    out = []
    for c in table.columns:
        default = getattr(c.server_default, "arg", None)
        text = default.text if isinstance(default, TextClause) else None
        out.append(
            (
                c.name,
                c.type.compile(dialect=_DIALECT).lower(),
                bool(c.nullable),
                isinstance(c.identity, Identity),
                text,
            )
        )
    return out


async def _migrated(sql: asyncpg.Connection, table: str) -> list[Column]:
    rows = await sql.fetch(
        """SELECT column_name, data_type, udt_name, is_nullable, is_identity, column_default
           FROM information_schema.columns
           WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position""",
        table,
    )
    return [
        (
            r["column_name"],
            f"{r['udt_name'][1:]}[]" if r["data_type"] == "ARRAY" else r["data_type"],
            r["is_nullable"] == "YES",
            r["is_identity"] == "YES",
            r["column_default"],
        )
        for r in rows
    ]


async def _keys(sql: asyncpg.Connection, table: str) -> set[tuple[str, tuple[str, ...]]]:
    rows = await sql.fetch(
        """SELECT tc.constraint_type, array_agg(k.column_name::text ORDER BY k.ordinal_position)
                  AS columns
           FROM information_schema.table_constraints tc
           JOIN information_schema.key_column_usage k
             ON k.constraint_schema = tc.constraint_schema
            AND k.constraint_name = tc.constraint_name
           WHERE tc.table_schema = 'public' AND tc.table_name = $1
             AND tc.constraint_type IN ('PRIMARY KEY', 'UNIQUE')
           GROUP BY tc.constraint_name, tc.constraint_type""",
        table,
    )
    return {(r["constraint_type"], tuple(r["columns"])) for r in rows}


def _declared_keys(table: Table) -> set[tuple[str, tuple[str, ...]]]:
    keys = {("PRIMARY KEY", tuple(c.name for c in table.primary_key.columns))}
    keys |= {("UNIQUE", (c.name,)) for c in table.columns if c.unique}
    keys |= {
        ("UNIQUE", tuple(c.name for c in constraint.columns))
        for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint)
    }
    return keys


async def test_every_table_is_described(sql: asyncpg.Connection) -> None:
    tables = await sql.fetch(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    )
    assert {r["table_name"] for r in tables} == set(metadata.tables)


async def test_columns_match_the_migrated_database(sql: asyncpg.Connection) -> None:
    for name, table in metadata.tables.items():
        assert sorted(_declared(table)) == sorted(await _migrated(sql, name)), name


async def test_keys_match_the_migrated_database(sql: asyncpg.Connection) -> None:
    for name, table in metadata.tables.items():
        assert _declared_keys(table) == await _keys(sql, name), name
