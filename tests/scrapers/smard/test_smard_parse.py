from __future__ import annotations

from datetime import date

import pytest

from scrapers.smard.errors import SmardBadResponse, SmardDataError
from scrapers.smard.parse import decode_json, from_rfc3339, parse_chunk, parse_index, to_rfc3339
from tests.scrapers.smard.fake_server import FakeSmard
from tests.scrapers.smard.fixtures import local_ms

H = 3_600_000
T0 = local_ms(date(2025, 3, 24))


def doc(*pairs: list[object]) -> dict[str, object]:
    return {"meta_data": {"version": 1, "created": 1}, "series": list(pairs)}


def test_index_is_sorted_and_deduplicated() -> None:
    assert parse_index({"timestamps": [T0 + 2 * H, T0, T0 + 2 * H]}) == [T0, T0 + 2 * H]


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"timestamps": None},
        {"timestamps": ["1742770800000"]},
        {"timestamps": [True]},
        {"timestamps": [17427708000]},
    ],  # fmt: skip
)
def test_index_rejects_malformed_documents(bad: object) -> None:
    with pytest.raises(SmardDataError):
        parse_index(bad)


def test_chunk_drops_nulls_but_keeps_zeros_and_negatives() -> None:
    chunk = parse_chunk(
        doc([T0, 0.0], [T0 + H, -12.5], [T0 + 2 * H, 7866], [T0 + 3 * H, None], [T0 + 4 * H, None]),
        start=T0,
        end=None,
        step_ms=H,
    )
    assert chunk.timestamps == (T0, T0 + H, T0 + 2 * H)
    assert chunk.values == (0.0, -12.5, 7866.0)
    assert chunk.points == 5
    assert isinstance(chunk.values[2], float)


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([[T0, 1.0], [T0 + 2 * H, 1.0]], "step"),
        ([[T0, 1.0], [T0, 2.0]], "ascending"),
        ([[T0 + H, 1.0]], "chunk start"),
        ([[T0, "1.0"]], "not a number"),
        ([[T0, True]], "not a number"),
        ([[T0, 1.0, 2.0]], "pair"),
        ([[float(T0), 1.0]], "integer"),
        ([[T0, 1.0], [T0 + H, 1.0]], "next chunk"),
    ],
)
def test_chunk_is_rejected_whole_on_any_violation(pairs: list[list[object]], message: str) -> None:
    with pytest.raises(SmardDataError, match=message):
        parse_chunk(doc(*pairs), start=T0, end=T0 + H, step_ms=H)


def test_chunk_requires_meta_version_1() -> None:
    with pytest.raises(SmardDataError, match="version"):
        parse_chunk({"meta_data": {"version": 2}, "series": []}, start=T0, end=None, step_ms=H)


def test_calendar_resolutions_skip_the_step_check() -> None:
    jan, feb = local_ms(date(2025, 1, 1)), local_ms(date(2025, 2, 1))
    chunk = parse_chunk(doc([jan, 114.14], [feb, 87.8]), start=jan, end=None, step_ms=None)
    assert chunk.values == (114.14, 87.8)


@pytest.mark.parametrize(
    "body", [b"<html>challenge</html>", b'{"series": [[1, 2]', b"NaN", b"\xff"]
)
def test_decode_json_rejects_non_json_bodies(body: bytes) -> None:
    with pytest.raises(SmardBadResponse):
        decode_json(body)


@pytest.mark.parametrize(
    ("monday", "resolution", "points"),
    [
        (date(2025, 3, 24), "hour", 167),
        (date(2025, 3, 24), "quarterhour", 668),
        (date(2025, 10, 20), "hour", 169),
        (date(2025, 10, 20), "quarterhour", 676),
        (date(2025, 6, 2), "quarterhour", 672),
    ],
)
def test_dst_weeks_parse_as_delivered(monday: date, resolution: str, points: int) -> None:
    start = local_ms(monday)
    body = FakeSmard().chunk(4169, "DE-LU", resolution, start)
    step = 3_600_000 if resolution == "hour" else 900_000
    chunk = parse_chunk(body, start=start, end=start + points * step, step_ms=step)
    assert len(chunk) == chunk.points == points


def test_rfc3339_round_trip_in_utc() -> None:
    # 2025-03-30 03:00 CEST is the first instant after the spring gap, 01:00Z.
    ms = local_ms(date(2025, 3, 30), 3)
    assert to_rfc3339(ms) == "2025-03-30T01:00:00+00:00"
    assert from_rfc3339("2025-03-30T03:00:00+02:00") == ms
    assert from_rfc3339("2025-03-30T01:00:00Z") == ms
    with pytest.raises(SmardDataError):
        from_rfc3339("2025-03-30T01:00:00")
