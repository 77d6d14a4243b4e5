"""Orchestration: for each configured series, plan, fetch, parse and publish whole chunks.

Per series the chunks are published in ascending order, and the first failure stops that
series for this run. The gateway's lastTimestamp therefore never moves past a chunk that was
not stored, so the next run picks up exactly where this one failed: nothing is skipped.
Series are independent: a 404 or an error in one is reported and the others carry on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time as dtime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from scrapers.smard.catalog import RESOLUTIONS
from scrapers.smard.client import SmardClient
from scrapers.smard.errors import SmardError, SmardMisconfigured
from scrapers.smard.logs import LOGGER_NAME
from scrapers.smard.parse import Chunk
from scrapers.smard.plan import ChunkRef, plan_incremental, plan_range
from scrapers.smard.publish import GatewayClient, IngestCounts
from scrapers.smard.settings import SeriesConfig, Settings

BERLIN = ZoneInfo("Europe/Berlin")
_log = logging.getLogger(f"{LOGGER_NAME}.sync")

Planner = Callable[[SeriesConfig, Sequence[int], int | None], list[ChunkRef]]


def _batched(refs: Sequence[ChunkRef], size: int) -> list[list[ChunkRef]]:
    it = iter(refs)
    return list(iter(lambda: list(islice(it, size)), []))


def berlin_midnight_ms(day: date) -> int:
    """Start of a local SMARD day (Europe/Berlin) as epoch ms."""
    return int(datetime.combine(day, dtime(0), tzinfo=BERLIN).timestamp() * 1000)


@dataclass
class SeriesReport:
    key: str
    outcome: str = "ok"  # ok | misconfigured | error
    planned: int = 0
    chunks: int = 0
    rows: int = 0
    counts: IngestCounts = field(default_factory=IngestCounts)
    error: str | None = None
    duration_s: float = 0.0

    def log(self) -> None:
        fields = {
            "series": self.key,
            "outcome": self.outcome,
            "chunks": self.chunks,
            "planned_chunks": self.planned,
            "rows": self.rows,
            "inserted": self.counts.inserted,
            "updated": self.counts.updated,
            "unchanged": self.counts.unchanged,
            "duration_s": round(self.duration_s, 3),
        }
        if self.error:
            fields["error"] = self.error
        level = logging.INFO if self.outcome == "ok" else logging.ERROR
        _log.log(level, "series synced", extra=fields)


@dataclass
class RunSummary:
    reports: list[SeriesReport]
    duration_s: float = 0.0
    smard_requests: int = 0
    smard_throttled: int = 0  # 429 answers, each waited out and sent again

    @property
    def chunks(self) -> int:
        return sum(r.chunks for r in self.reports)

    @property
    def rows(self) -> int:
        return sum(r.rows for r in self.reports)

    @property
    def counts(self) -> IngestCounts:
        total = IngestCounts()
        for r in self.reports:
            total += r.counts
        return total

    @property
    def errors(self) -> int:
        return sum(r.outcome != "ok" for r in self.reports)

    def describe(self) -> str:
        c = self.counts
        return (
            f"chunks fetched: {self.chunks}, rows sent: {self.rows}, "
            f"rows inserted: {c.inserted}, updated: {c.updated}, unchanged: {c.unchanged}, "
            f"errors: {self.errors}; SMARD requests: {self.smard_requests} "
            f"(429: {self.smard_throttled}), {self.duration_s:.1f} s"
        )


@dataclass
class _Job:
    series: SeriesConfig
    report: SeriesReport
    started: float
    refs: list[ChunkRef] = field(default_factory=list)


class Syncer:
    def __init__(
        self,
        settings: Settings,
        smard: SmardClient,
        gateway: GatewayClient,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._smard = smard
        self._gateway = gateway
        self._now = now
        # The gateway wants at least two requests in flight, the ingest budget is small.
        self._publish_slots = asyncio.Semaphore(2)

    async def run_once(
        self,
        *,
        on_total: Callable[[int], None] = lambda _: None,
        on_chunk: Callable[[], None] = lambda: None,
    ) -> RunSummary:
        """Incremental sync of every configured series."""
        sync = self._settings.sync
        lookback = self._now() - timedelta(days=sync.initial_lookback_days)

        def planner(s: SeriesConfig, index: Sequence[int], last: int | None) -> list[ChunkRef]:
            not_before = (
                berlin_midnight_ms(s.start) if s.start else int(lookback.timestamp() * 1000)
            )
            return plan_incremental(
                index,
                last_ts=last,
                not_before=not_before,
                recent=sync.recent_chunks,
                min_step_ms=RESOLUTIONS[s.resolution].min_step_ms,
            )

        return await self._run(planner, needs_last=True, on_total=on_total, on_chunk=on_chunk)

    async def backfill(
        self,
        first_day: date,
        last_day: date,
        *,
        on_total: Callable[[int], None] = lambda _: None,
        on_chunk: Callable[[], None] = lambda: None,
    ) -> RunSummary:
        """Load every chunk overlapping the local days first_day..last_day (inclusive)."""
        start = berlin_midnight_ms(first_day)
        end = berlin_midnight_ms(last_day + timedelta(days=1))

        def planner(s: SeriesConfig, index: Sequence[int], last: int | None) -> list[ChunkRef]:
            return plan_range(index, start=start, end=end)

        return await self._run(planner, needs_last=False, on_total=on_total, on_chunk=on_chunk)

    async def _run(
        self,
        planner: Planner,
        *,
        needs_last: bool,
        on_total: Callable[[int], None] = lambda _: None,
        on_chunk: Callable[[], None] = lambda: None,
    ) -> RunSummary:
        started = time.monotonic()
        requests, throttled = self._smard.requests, self._smard.limiter.throttled
        jobs = await asyncio.gather(
            *(self._prepare(s, planner, needs_last) for s in self._settings.series)
        )
        on_total(sum(len(job.refs) for job in jobs))
        await asyncio.gather(*(self._transfer(job, on_chunk) for job in jobs))
        return RunSummary(
            [job.report for job in jobs],
            duration_s=time.monotonic() - started,
            smard_requests=self._smard.requests - requests,
            smard_throttled=self._smard.limiter.throttled - throttled,
        )

    async def _prepare(self, series: SeriesConfig, planner: Planner, needs_last: bool) -> _Job:
        job = _Job(series, SeriesReport(series.series_key), time.monotonic())
        try:
            # The index first: a misconfigured series must not leave an empty series behind.
            index = await self._smard.index(series.filter, series.region, series.resolution)
            last = await self._gateway.upsert_series(series)
            job.refs = planner(series, index, last if needs_last else None)
            job.report.planned = len(job.refs)
        except Exception as exc:
            self._fail(job.report, exc)
        return job

    async def _transfer(self, job: _Job, on_chunk: Callable[[], None]) -> None:
        s = job.series
        pending: list[Chunk] = []
        limit = self._settings.gateway.max_points_per_request
        try:
            # Fetch a small window concurrently, then hand the chunks over strictly in order.
            for window in _batched(job.refs, self._settings.http.concurrency * 2):
                results = await asyncio.gather(
                    *(self._smard.chunk(s.filter, s.region, s.resolution, r) for r in window),
                    return_exceptions=True,
                )
                for result in results:
                    if isinstance(result, BaseException):
                        await self._flush(job, pending)
                        raise result
                    job.report.chunks += 1
                    on_chunk()
                    if pending and sum(map(len, pending)) + len(result) > limit:
                        await self._flush(job, pending)
                    pending.append(result)
            await self._flush(job, pending)
        except Exception as exc:
            # A chunk 404 means the index changed under us, not a wrong configuration.
            self._fail(job.report, exc, during_index=False)
        finally:
            job.report.duration_s = time.monotonic() - job.started
            job.report.log()

    async def _flush(self, job: _Job, pending: list[Chunk]) -> None:
        """Publish the pending chunks in one all-or-nothing mutation, then forget them."""
        timestamps = [ts for chunk in pending for ts in chunk.timestamps]
        values = [v for chunk in pending for v in chunk.values]
        pending.clear()
        if not timestamps:
            return
        async with self._publish_slots:
            counts = await self._gateway.ingest(job.series.series_key, timestamps, values)
        job.report.rows += len(timestamps)
        job.report.counts += counts

    @staticmethod
    def _fail(report: SeriesReport, exc: Exception, *, during_index: bool = True) -> None:
        if report.outcome != "ok":
            return
        misconfigured = during_index and isinstance(exc, SmardMisconfigured)
        report.outcome = "misconfigured" if misconfigured else "error"
        report.error = str(exc) or type(exc).__name__
        if not isinstance(exc, SmardError):
            report.error = f"{type(exc).__name__}: {report.error}"
