"""What the connected server can do, detected once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["ROLLUPS_SINCE", "Capabilities", "detect_capabilities", "rollups_supported"]

# Rollups need forced refreshes (`refresh_continuous_aggregate(..., force => true)`, added in
# TimescaleDB 2.18); on older versions every read takes the raw path (docs/timescaledb.md).
ROLLUPS_SINCE = (2, 18)


def rollups_supported(version: str) -> bool:
    """True for a TimescaleDB version (e.g. `2.28.3`) whose rollups this code may read."""
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= ROLLUPS_SINCE


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
    if tsdb is not None and rollups_supported(tsdb):
        names = await conn.execute(
            text(
                "SELECT view_name FROM timescaledb_information.continuous_aggregates "
                "WHERE view_schema = current_schema()"
            )
        )
        rollups = frozenset(names.scalars())
    return Capabilities(server_version=int(version), timescaledb_version=tsdb, rollups=rollups)
