"""Migrations: versioned, applied once, safe to re-run, edits of applied files refused."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from starlette.applications import Starlette

from db import migrate
from db.migrate import Migration, apply_migrations, load_migrations


def test_files_are_numbered_uniquely_and_in_order() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == sorted(set(versions))
    assert versions[:2] == [1, 2]


async def test_rerun_applies_nothing(database_url: str, sql: asyncpg.Connection) -> None:
    assert await apply_migrations(database_url) == []
    applied = await sql.fetchval("SELECT count(*) FROM schema_migrations")
    assert applied == len(load_migrations())


async def test_a_changed_applied_migration_is_refused(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = load_migrations()
    tampered = [Migration(m.version, m.name, m.sql + "\n-- edited") for m in original]
    monkeypatch.setattr(migrate, "load_migrations", lambda: tampered)
    with pytest.raises(RuntimeError, match="changed after it was applied"):
        await apply_migrations(database_url)


async def test_session_time_zone_is_utc(app: Starlette) -> None:
    async with app.state.database.connect() as conn:
        assert (await conn.execute(text("SHOW timezone"))).scalar_one() == "UTC"
