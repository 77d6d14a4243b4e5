"""What the connected server can do, detected once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["Capabilities", "detect_capabilities"]


@dataclass(frozen=True)
class Capabilities:
    server_version: int = 0
    timescaledb_version: str | None = None
    rollups: frozenset[str] = frozenset()  # continuous aggregates of samples (db/rollups.py)

    @property
    def timescaledb(self) -> bool:
        return self.timescaledb_version is not None


async def detect_capabilities(conn: AsyncConnection) -> Capabilities:
    version = (await conn.execute(text("SHOW server_version_num"))).scalar_one()
    tsdb = (
        await conn.execute(
            text("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
        )
    ).scalar_one_or_none()
    rollups: frozenset[str] = frozenset()
    if tsdb is not None:
        names = await conn.execute(
            text(
                "SELECT view_name FROM timescaledb_information.continuous_aggregates "
                "WHERE view_schema = current_schema()"
            )
        )
        rollups = frozenset(names.scalars())
    return Capabilities(server_version=int(version), timescaledb_version=tsdb, rollups=rollups)
