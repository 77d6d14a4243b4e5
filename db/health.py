"""Database health: reachability and the settings that make an acknowledged commit durable."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from db.engine import Database

__all__ = ["Durability", "check_durability"]


@dataclass(frozen=True)
class Durability:
    fsync: str
    full_page_writes: str
    synchronous_commit: str

    @property
    def safe(self) -> bool:
        # `local`, `remote_write` and `remote_apply` also flush the local WAL before the ack.
        return (
            self.fsync == "on"
            and self.full_page_writes == "on"
            and (self.synchronous_commit != "off")
        )


async def check_durability(database: Database) -> Durability:
    """One round trip: proves the server answers and reports its durability settings."""
    stmt = text(
        "SELECT current_setting('fsync'), current_setting('full_page_writes'), "
        "current_setting('synchronous_commit')"
    )
    async with database.connect() as conn:
        row = (await conn.execute(stmt)).one()
    return Durability(fsync=row[0], full_page_writes=row[1], synchronous_commit=row[2])
