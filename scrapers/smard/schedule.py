"""The hourly loop: run, sleep interval +/- jitter, stop promptly when asked to."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable

from scrapers.smard.logs import LOGGER_NAME
from scrapers.smard.settings import ScheduleSettings

_log = logging.getLogger(f"{LOGGER_NAME}.schedule")


def next_delay(schedule: ScheduleSettings, rng: random.Random) -> float:
    """Seconds until the next run; jitter spreads many scrapers over the hour."""
    # Settings keep the jitter below the interval, so the delay is always positive.
    return schedule.interval_seconds + rng.uniform(
        -schedule.jitter_seconds, schedule.jitter_seconds
    )


async def run_forever(
    run_once: Callable[[], Awaitable[object]],
    schedule: ScheduleSettings,
    stop: asyncio.Event,
    rng: random.Random,
) -> None:
    """Run until `stop` is set. A run in progress is cancelled: every chunk is sent whole in
    one idempotent mutation, so an interrupted run loses nothing the next run cannot redo."""
    while not stop.is_set():
        run = asyncio.ensure_future(run_once())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({run, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not run.done():
            run.cancel()
            _log.info("shutdown requested; run cancelled")
            with contextlib.suppress(asyncio.CancelledError):
                await run
            break
        stopping.cancel()
        if exc := run.exception():
            _log.error("run failed", exc_info=exc)
        delay = next_delay(schedule, rng)
        _log.info("next run scheduled", extra={"in_seconds": round(delay, 1)})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
    _log.info("scraper stopped")
