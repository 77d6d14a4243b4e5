from __future__ import annotations

import asyncpg
import pytest


@pytest.fixture(autouse=True)
async def clean_sites(admin_sql: asyncpg.Pool) -> None:
    """The shared `clean_db` empties series and samples; sites are this area's table."""
    await admin_sql.execute("TRUNCATE sites RESTART IDENTITY")
