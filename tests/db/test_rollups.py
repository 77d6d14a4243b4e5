"""Rollup routing (db/rollups.py): a continuous aggregate is used only when it answers the
query exactly. Pure logic; runs without TimescaleDB."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from db.capabilities import rollups_supported
from db.intervals import parse_every
from db.rollups import ROLLUPS, agg_sql, choose_rollup

ALL = frozenset(r.view for r in ROLLUPS)
BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")
UTC = ZoneInfo("UTC")


def at(text: str, zone: ZoneInfo = BERLIN) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


@pytest.mark.parametrize(
    ("every", "zone", "start", "end", "expected"),
    [
        # Berlin days over the spring DST change, from local midnight to local midnight.
        ("P1D", "Europe/Berlin", at("2025-03-29"), at("2025-04-01"), "samples_1d_berlin"),
        ("P1M", "Europe/Berlin", at("2025-01-01"), at("2026-01-01"), "samples_1d_berlin"),
        ("P1W", "Europe/Berlin", at("2025-03-24"), at("2025-04-07"), "samples_1d_berlin"),
        # Not at local midnight but on whole hours: the hourly rollup still nests.
        ("P1D", "Europe/Berlin", at("2025-03-29T05:00"), at("2025-04-01"), "samples_1h"),
        ("P1D", "UTC", at("2025-03-29", UTC), at("2025-04-01", UTC), "samples_1d_utc"),
        ("PT1H", "Europe/Berlin", at("2025-10-26"), at("2025-10-27"), "samples_1h"),
        ("PT3H", "Europe/Berlin", at("2025-10-26"), at("2025-10-27"), "samples_1h"),
        # Finer than the hourly rollup, or edges inside an hour: raw.
        ("PT15M", "Europe/Berlin", at("2025-10-26"), at("2025-10-27"), None),
        ("PT1H", "Europe/Berlin", at("2025-10-26T00:30"), at("2025-10-27"), None),
        ("P1D", "Europe/Berlin", at("2025-03-29T05:30"), at("2025-04-01"), None),
        # Half-hour zones: UTC hours do not nest in their days or 3-hour buckets.
        ("P1D", "Asia/Kolkata", at("2025-03-29", KOLKATA), at("2025-04-01", KOLKATA), None),
        ("PT3H", "Asia/Kolkata", at("2025-03-29", KOLKATA), at("2025-04-01", KOLKATA), None),
    ],
)
def test_choose_rollup(
    every: str, zone: str, start: datetime, end: datetime, expected: str | None
) -> None:
    chosen = choose_rollup(ALL, parse_every(every), zone, start, end)
    assert (chosen.view if chosen else None) == expected


def test_only_existing_rollups_are_chosen() -> None:
    width = parse_every("P1D")
    start, end = at("2025-03-29"), at("2025-04-01")
    assert choose_rollup(frozenset(), width, "Europe/Berlin", start, end) is None
    hourly = choose_rollup({"samples_1h"}, width, "Europe/Berlin", start, end)
    assert hourly is not None and hourly.view == "samples_1h"


def test_rollup_statement_keeps_the_requested_columns_in_order() -> None:
    (hourly,) = [r for r in ROLLUPS if r.view == "samples_1h"]
    sql = agg_sql(hourly, "B", ["avg", "count", "last"])
    assert sql.startswith(
        "SELECT B AS start, sum(r.sum) / sum(r.count) AS avg, sum(r.count)::bigint AS count, "
        "last(r.last, r.bucket) AS last FROM samples_1h r"
    )


def test_buckets_of_the_rollups_own_width_are_read_without_regrouping() -> None:
    (daily,) = [r for r in ROLLUPS if r.view == "samples_1d_berlin"]
    sql = agg_sql(daily, None, ["avg", "min", "count"], many=True)
    assert sql == (
        "SELECT r.series_id, r.bucket AS start, r.sum / r.count AS avg, r.min AS min, "
        "r.count::bigint AS count FROM samples_1d_berlin r "
        "WHERE r.series_id = ANY(CAST(:sids AS integer[])) "
        "AND r.bucket >= :from AND r.bucket < :to"
    )


@pytest.mark.parametrize(
    ("version", "supported"),
    [("2.28.3", True), ("2.18.0", True), ("3.0.1", True), ("2.17.2", False), ("2.x", False)],
)
def test_rollups_are_read_only_where_forced_refreshes_exist(version: str, supported: bool) -> None:
    assert rollups_supported(version) is supported
