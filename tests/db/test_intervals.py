"""Bucket widths: what `every` accepts and how many buckets a range can produce."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from db.intervals import InvalidInterval, parse_every


@pytest.mark.parametrize(
    ("iso", "fixed"),
    [("PT1S", timedelta(seconds=1)), ("PT15M", timedelta(minutes=15)),
     ("pt1h30m", timedelta(minutes=90)), ("PT24H", timedelta(days=1))],
)  # fmt: skip
def test_fixed_widths(iso: str, fixed: timedelta) -> None:
    assert parse_every(iso).fixed == fixed


@pytest.mark.parametrize("iso", ["P1D", "P1W", "P1M", "P3M", "P1Y"])
def test_calendar_widths(iso: str) -> None:
    assert parse_every(iso).is_calendar


@pytest.mark.parametrize("iso", ["", "PT", "PT0S", "PT25H", "P2D", "P1.5D", "1h", "P1DT1H"])
def test_rejected_widths(iso: str) -> None:
    with pytest.raises(InvalidInterval):
        parse_every(iso)


def test_bucket_bound_is_an_upper_bound() -> None:
    start = datetime.fromisoformat("2025-01-01T00:00:00+01:00")
    end = datetime.fromisoformat("2026-01-01T00:00:00+01:00")
    assert 365 <= parse_every("P1D").max_buckets(start, end) <= 367
    assert 12 <= parse_every("P1M").max_buckets(start, end) <= 16
    assert parse_every("PT1H").max_buckets(start, end) == 8761
