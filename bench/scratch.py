"""Scratch databases for the standalone benchmarks: created with the migrations applied,
dropped afterwards."""

from __future__ import annotations

import secrets

import asyncpg
from sqlalchemy.engine import make_url

from db.migrate import apply_migrations

__all__ = ["create_scratch_database", "drop_database"]


async def create_scratch_database(server: str, prefix: str) -> str:
    """A new database named `<prefix>_<random>` on `server`, migrated; returns its URL."""
    name = f"{prefix}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    await apply_migrations(url)
    return url


async def drop_database(server: str, url: str) -> None:
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await admin.close()
