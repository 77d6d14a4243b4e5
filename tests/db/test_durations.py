"""The one ISO-8601 duration parser and what each caller accepts from it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db.durations import IsoDuration, format_duration, parse_duration, parse_iso_duration
from db.intervals import InvalidInterval, parse_every


def test_parts_are_read_as_written() -> None:
    assert parse_iso_duration("P1Y2M3W4DT5H6M7.5S") == IsoDuration(
        years=1, months=2, weeks=3, days=4, hours=5, minutes=6, seconds=7.5, fraction=True
    )
    assert parse_iso_duration("PT15M") == IsoDuration(minutes=15)


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "1H", "P1.5D", "PT1,5S", "pt15m", " PT1H"])
def test_malformed_durations_are_none(text: str) -> None:
    assert parse_iso_duration(text) is None


@pytest.mark.parametrize(
    ("text", "length"),
    [("PT30M", timedelta(minutes=30)), (" pt1h ", timedelta(hours=1)),
     ("P1W", timedelta(days=7)), ("P1DT2H", timedelta(hours=26)),
     ("PT1.5S", timedelta(seconds=1.5)), ("PT0S", timedelta(0))],
)  # fmt: skip
def test_fixed_lengths(text: str, length: timedelta) -> None:
    assert parse_duration(text) == length
    assert parse_duration(format_duration(length)) == length


@pytest.mark.parametrize("text", ["P1M", "P1Y", "P1YT1H", "PT"])
def test_calendar_or_malformed_durations_have_no_fixed_length(text: str) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize("text", ["PT1.5S", "P2W", "PT0.5H"])
def test_bucket_widths_stay_whole_clock_durations_or_calendar_units(text: str) -> None:
    with pytest.raises(InvalidInterval):
        parse_every(text)
    assert parse_every("PT1H30M").fixed == timedelta(minutes=90)
