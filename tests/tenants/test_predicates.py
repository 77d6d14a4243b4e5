"""`db.tenancy.readable_sql` (for hand-written statements) selects exactly what `readable`
does, with the precedence of a tenant's own series over the platform's of the same key."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import select, text

from db import tenancy
from db.engine import Database
from db.tables import series
from tests.tenants.conftest import Tokens


@pytest.mark.parametrize("tenant", [None, "acme", "beta"])
async def test_text_and_core_predicates_agree(
    tenant: str | None, database_url: str, admin_sql: asyncpg.Pool, tokens: Tokens
) -> None:
    await admin_sql.execute(
        "INSERT INTO series (key, name, kind, unit, tenant) VALUES "
        "('p', 'p', 'PRICE', 'EUR/MWh', NULL), ('p', 'p', 'PRICE', 'EUR/MWh', 'acme'), "
        "('q', 'q', 'POWER', 'kW', NULL), ('a', 'a', 'POWER', 'kW', 'acme'), "
        "('b', 'b', 'POWER', 'kW', 'beta')"
    )
    database = Database(database_url)
    try:
        with tenancy.acting_for(tenant):
            async with database.connect() as conn:
                core = await conn.execute(
                    select(series.c.key, series.c.tenant).where(tenancy.readable(series))
                )
                raw = await conn.execute(
                    text(f"SELECT key, tenant FROM series WHERE {tenancy.readable_sql()}"),
                    {"tenant": tenancy.tenant_param()},
                )
                got_core, got_raw = set(core.all()), set(raw.all())
    finally:
        await database.dispose()
    expected = {
        None: {("p", None), ("q", None)},
        "acme": {("p", "acme"), ("q", None), ("a", "acme")},
        "beta": {("p", None), ("q", None), ("b", "beta")},
    }[tenant]
    assert {tuple(r) for r in got_core} == expected
    assert {tuple(r) for r in got_raw} == expected
