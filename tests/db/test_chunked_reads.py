"""Large aggregate reads go through a cursor in steps (db/aggregate.py, `CHUNK_ROWS`); their
columns must be exactly those of the same read in one round trip, for every fill, for one
series and for several in one statement, across a DST change and with empty results."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from db import aggregate as db_aggregate
from db.engine import Database
from db.intervals import parse_every

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2025, 10, 25, tzinfo=BERLIN)  # the 26th is 25 hours long
END = datetime(2025, 10, 28, tzinfo=BERLIN)


@pytest.fixture
async def stepped(
    sql: asyncpg.Connection, database_url: str
) -> AsyncIterator[tuple[Database, list[int]]]:
    ids = [
        await sql.fetchval(
            "INSERT INTO series (key, name, kind, unit, timezone) "
            "VALUES ($1, $1, 'POWER', 'kW', 'Europe/Berlin') RETURNING id",
            key,
        )
        for key in ("steps:a", "steps:b", "steps:empty")
    ]
    # Every 7 minutes with a gap of a few hours, so fills have work to do.
    await sql.execute(
        "INSERT INTO samples SELECT s, t, extract(epoch FROM t) / 3600 * s "
        "FROM unnest($1::integer[]) s, generate_series($2::timestamptz, $3::timestamptz, "
        "interval '7 min') t WHERE t NOT BETWEEN $4 AND $4 + interval '5 hours'",
        ids[:2],
        START,
        END - timedelta(minutes=1),
        datetime(2025, 10, 26, 1, tzinfo=BERLIN),
    )
    database = Database(database_url)
    await database.start()
    try:
        yield database, ids
    finally:
        await database.dispose()


# A cursor's statement never runs as a parallel plan; a single fetch may (on a table grown by
# other tests), and floating-point sums then add in another order: equal up to rounding.
_SUMMED = {"avg", "sum"}


def _close(a: list[float | None], b: list[float | None]) -> bool:
    return len(a) == len(b) and all(
        x is None
        and y is None
        or x is not None
        and y is not None
        and math.isclose(x, y, rel_tol=1e-12)
        for x, y in zip(a, b, strict=True)
    )


def _requests(
    ids: list[int], every: str, fill: db_aggregate.Fill
) -> list[db_aggregate.BucketRequest]:
    return [
        db_aggregate.BucketRequest(
            sid, START, END, parse_every(every), "Europe/Berlin",
            frozenset(db_aggregate.AGGREGATES), fill,
        )
        for sid in ids
    ]  # fmt: skip


@pytest.mark.parametrize("every", ["PT15M", "PT1H", "P1D"])
@pytest.mark.parametrize("fill", list(db_aggregate.Fill))
async def test_a_read_in_steps_answers_like_a_read_at_once(
    stepped: tuple[Database, list[int]],
    monkeypatch: pytest.MonkeyPatch,
    every: str,
    fill: db_aggregate.Fill,
) -> None:
    database, ids = stepped
    requests = _requests(ids, every, fill)
    monkeypatch.setattr(db_aggregate, "CHUNK_ROWS", 1_000_000)
    at_once = await db_aggregate.fetch_buckets_many(database, requests)
    monkeypatch.setattr(db_aggregate, "CHUNK_ROWS", 2)
    in_steps = await db_aggregate.fetch_buckets_many(database, requests)
    for stepped_rows, whole in zip(in_steps, at_once, strict=True):
        assert (stepped_rows.starts, stepped_rows.ends) == (whole.starts, whole.ends)
        for name, column in whole.columns.items():
            if name in _SUMMED:
                assert _close(stepped_rows.columns[name], column), name
            else:
                assert stepped_rows.columns[name] == column, name
    assert len(at_once[0].starts) > 2  # more than one step
    assert at_once[0].starts != at_once[1].starts or at_once[0].columns != at_once[1].columns
