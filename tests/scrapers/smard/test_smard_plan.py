from __future__ import annotations

from datetime import date

from scrapers.smard.plan import ChunkRef, chunk_refs, plan_incremental, plan_range
from scrapers.smard.sync import berlin_midnight_ms
from tests.scrapers.smard.fixtures import PUBLISHED_UNTIL, local_ms, monday_starts

H = 3_600_000
INDEX = monday_starts(date(2025, 9, 1), PUBLISHED_UNTIL)  # 10 weekly chunks, newest 11-03


def starts(refs: list[ChunkRef]) -> list[int]:
    return [r.start for r in refs]


def test_chunk_ends_come_from_the_index_not_from_seven_days() -> None:
    refs = chunk_refs(monday_starts(date(2025, 10, 20), PUBLISHED_UNTIL))
    assert refs[0].end is not None and refs[0].end - refs[0].start == 169 * H
    assert refs[1].end is not None and refs[1].end - refs[1].start == 168 * H
    assert refs[-1].end is None


def test_empty_series_loads_the_lookback_window_and_the_recent_chunks() -> None:
    not_before = local_ms(date(2025, 10, 22))
    plan = plan_incremental(INDEX, last_ts=None, not_before=not_before, recent=2, min_step_ms=H)
    assert starts(plan) == INDEX[-3:]  # weeks of 10-20, 10-27 and 11-03


def test_fully_stored_series_refetches_only_the_recent_chunks() -> None:
    last = INDEX[-1] + 61 * H  # the newest stored point lies in the newest chunk
    plan = plan_incremental(INDEX, last_ts=last, not_before=0, recent=2, min_step_ms=H)
    assert starts(plan) == INDEX[-2:]


def test_chunk_whose_last_point_is_stored_is_complete() -> None:
    last_of_third = INDEX[3] - H  # last hour of the chunk INDEX[2]
    plan = plan_incremental(INDEX, last_ts=last_of_third, not_before=0, recent=2, min_step_ms=H)
    assert starts(plan) == INDEX[3:]
    plan = plan_incremental(INDEX, last_ts=last_of_third - H, not_before=0, recent=2, min_step_ms=H)
    assert starts(plan) == INDEX[2:]


def test_sunday_afternoon_chunk_keeps_the_current_week_in_the_plan() -> None:
    # Sunday afternoon the index gains next week, holding only Monday; "today" must stay.
    sunday = monday_starts(date(2025, 9, 1), local_ms(date(2025, 11, 10), 1))
    last = sunday[-1] + 23 * H
    plan = plan_incremental(sunday, last_ts=last, not_before=0, recent=2, min_step_ms=H)
    assert starts(plan) == sunday[-2:]


def test_range_selects_every_chunk_overlapping_it() -> None:
    start, end = berlin_midnight_ms(date(2025, 10, 26)), berlin_midnight_ms(date(2025, 10, 28))
    assert starts(plan_range(INDEX, start=start, end=end)) == [INDEX[7], INDEX[8]]
    sunday = berlin_midnight_ms(date(2025, 10, 26))
    one_day = plan_range(INDEX, start=sunday, end=sunday + 25 * H)
    assert starts(one_day) == [INDEX[7]]
    assert plan_range(INDEX, start=0, end=INDEX[0]) == []
    assert starts(plan_range(INDEX, start=INDEX[-1] + H, end=INDEX[-1] + 2 * H)) == [INDEX[-1]]


def test_berlin_midnight_follows_the_offset() -> None:
    assert berlin_midnight_ms(date(2024, 12, 2)) == 1733094000000  # bundesAPI issue #21
    assert berlin_midnight_ms(date(2023, 10, 2)) == 1696197600000  # ha_epex_spot#46
