"""The newest sample time per series, for the freshness gauge (bounded number of series)."""

from __future__ import annotations

from sqlalchemy import text

from db.engine import Database

__all__ = ["latest_timestamps"]

# One backward index probe per series on the (series_id, ts) primary key.
_LATEST = text(
    """
    SELECT s.key, extract(epoch FROM (SELECT max(ts) FROM samples WHERE series_id = s.id))
    FROM series s ORDER BY s.key LIMIT :limit
    """
)


async def latest_timestamps(database: Database, *, limit: int) -> dict[str, float]:
    """Series key -> newest sample as Unix seconds, for at most `limit` series (by key);
    series without samples are left out."""
    async with database.connect() as conn:
        rows = (await conn.execute(_LATEST, {"limit": limit})).all()
    return {key: float(last) for key, last in rows if last is not None}
