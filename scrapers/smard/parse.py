"""Pure parsing of SMARD JSON documents into columns.

A chunk either parses completely or raises SmardDataError; there is no partial result, so a
half-understood file can never reach the gateway. Nulls (not yet published) are dropped,
genuine zeros are kept. Epoch milliseconds are converted to datetimes only in `to_rfc3339`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from scrapers.smard.errors import SmardBadResponse, SmardDataError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# SMARD history starts in 2014/2015; anything far outside is a corrupt file, not data.
_MIN_MS = 1_388_534_400_000  # 2014-01-01T00:00Z
_MAX_MS = 4_102_444_800_000  # 2100-01-01T00:00Z


@dataclass(frozen=True, slots=True)
class Chunk:
    start: int
    timestamps: tuple[int, ...]
    values: tuple[float, ...]
    points: int  # including nulls, for the DST checks in tests and logs
    created: int | None

    def __len__(self) -> int:
        return len(self.timestamps)


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name}")


def decode_json(body: bytes) -> Any:
    """Decode a JSON body; NaN/Infinity are rejected like any other invalid JSON."""
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SmardBadResponse(f"body is not valid JSON: {exc}") from exc


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_ms(value: object, what: str) -> int:
    if not _is_int(value):
        raise SmardDataError(f"{what} is not an integer epoch ms: {value!r}")
    assert isinstance(value, int)
    if not _MIN_MS <= value < _MAX_MS:
        raise SmardDataError(f"{what} {value} is outside 2014..2100")
    return value


def parse_index(doc: Any) -> list[int]:
    """Return the sorted, de-duplicated chunk start timestamps of an index document."""
    if not isinstance(doc, dict) or not isinstance(doc.get("timestamps"), list):
        raise SmardDataError("index has no 'timestamps' list")
    stamps = [_check_ms(t, "index timestamp") for t in doc["timestamps"]]
    # Clients sort defensively; the order is not promised anywhere.
    return sorted(set(stamps))


def parse_chunk(doc: Any, *, start: int, end: int | None, step_ms: int | None) -> Chunk:
    """Validate a chunk document and return its published points.

    `start`/`end` bound the chunk (end = next index entry, None for the newest chunk);
    `step_ms` is the exact step for hour/quarterhour, None for calendar resolutions.
    """
    if not isinstance(doc, dict):
        raise SmardDataError("chunk is not a JSON object")
    meta = doc.get("meta_data")
    if not isinstance(meta, dict) or meta.get("version") != 1:
        raise SmardDataError(f"unexpected meta_data {meta!r}; only version 1 is known")
    created = meta.get("created")
    series = doc.get("series")
    if not isinstance(series, list):
        raise SmardDataError("chunk has no 'series' list")
    timestamps: list[int] = []
    values: list[float] = []
    previous: int | None = None
    for i, pair in enumerate(series):
        if not isinstance(pair, list) or len(pair) != 2:
            raise SmardDataError(f"series[{i}] is not a [timestamp, value] pair: {pair!r}")
        ts = _check_ms(pair[0], f"series[{i}] timestamp")
        value = pair[1]
        if previous is not None:
            if ts <= previous:
                raise SmardDataError(f"series[{i}] timestamp {ts} is not ascending")
            if step_ms is not None and ts - previous != step_ms:
                raise SmardDataError(f"series[{i}] breaks the {step_ms} ms step")
        elif ts != start:
            raise SmardDataError(f"first point {ts} does not match the chunk start {start}")
        if end is not None and ts >= end:
            raise SmardDataError(f"series[{i}] timestamp {ts} lies in the next chunk ({end})")
        previous = ts
        if value is None:
            continue  # not published yet; never stored, never as 0
        if _is_int(value) or isinstance(value, float):
            number = float(value)
            if not math.isfinite(number):
                raise SmardDataError(f"series[{i}] value is not finite")
        else:
            raise SmardDataError(f"series[{i}] value is not a number or null: {value!r}")
        timestamps.append(ts)
        values.append(number)
    return Chunk(
        start=start,
        timestamps=tuple(timestamps),
        values=tuple(values),
        points=len(series),
        created=created if _is_int(created) else None,
    )


def to_rfc3339(ms: int) -> str:
    """Epoch ms -> RFC 3339 in UTC with an explicit offset, e.g. 2025-03-30T01:00:00+00:00."""
    return (_EPOCH + timedelta(milliseconds=ms)).isoformat()


def from_rfc3339(text: str) -> int:
    """RFC 3339 with offset -> epoch ms; naive values are refused."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise SmardDataError(f"timestamp {text!r} has no offset")
    return (moment - _EPOCH) // timedelta(milliseconds=1)
