"""Which chunks to fetch: pure functions over the index, the gateway's state and a range.

Chunk starts always come from the index (weeks are 167, 168 or 169 hours long, so they cannot
be computed); a chunk ends where the next index entry begins, the newest one is open-ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChunkRef:
    start: int
    end: int | None  # next chunk's start; None for the newest chunk


def chunk_refs(index: Sequence[int]) -> list[ChunkRef]:
    ordered = sorted(set(index))
    ends: list[int | None] = [*ordered[1:], None]
    return [ChunkRef(start, end) for start, end in zip(ordered, ends, strict=True)]


def plan_incremental(
    index: Sequence[int],
    *,
    last_ts: int | None,
    not_before: int,
    recent: int,
    min_step_ms: int,
) -> list[ChunkRef]:
    """Chunks not yet fully stored, plus always the `recent` newest ones.

    `last_ts` is the newest stored sample (None when the series is empty); `not_before` limits
    how far back an empty series is loaded. A chunk is fully stored when its last interval,
    which starts at least `min_step_ms` before the next chunk, is not newer than `last_ts`.
    """
    refs = chunk_refs(index)
    chosen: set[int] = set(range(max(0, len(refs) - recent), len(refs)))
    for i, ref in enumerate(refs):
        if ref.end is None:
            chosen.add(i)
        elif last_ts is None:
            if ref.end > not_before:
                chosen.add(i)
        elif ref.end > last_ts + min_step_ms:
            chosen.add(i)
    return [refs[i] for i in sorted(chosen)]


def plan_range(index: Sequence[int], *, start: int, end: int) -> list[ChunkRef]:
    """Chunks overlapping the half-open range [start, end); they are sent whole."""
    return [
        ref for ref in chunk_refs(index) if ref.start < end and (ref.end is None or ref.end > start)
    ]
