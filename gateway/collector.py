"""Garbage-collector settings for a process that builds large responses (docs/limits.md,
"Per-key cost").

CPython's full (generation 2) collection walks every tracked object in the process and holds
the event loop while it does: with the imported modules, the schema and a few 100,000-bucket
responses in flight, one took up to 460 ms and they added up to a third of the loop's time
under full-budget load. Objects alive at start-up live as long as the process, so they are
moved out of the collector's sight (`gc.freeze`); and a larger first-generation threshold
lets a request's short-lived rows die young instead of being promoted into the old
generations that full collections walk.
"""

from __future__ import annotations

import gc

__all__ = ["tune_collector"]

# Allocations between young collections (CPython's default: 700). A 4,000-row step of a large
# read is then mostly garbage again before the first collection looks at it.
_YOUNG_THRESHOLD = 10_000


def tune_collector() -> None:
    """Call once, after the application is built and before it serves."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(_YOUNG_THRESHOLD, middle, old)
