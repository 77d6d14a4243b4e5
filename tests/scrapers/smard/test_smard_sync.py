"""Orchestration against the fake SMARD server and the in-memory gateway."""

from __future__ import annotations

import json
import logging
from datetime import date

import httpx
import pytest

from jsonlogs import json_formatter
from scrapers.smard.sync import RunSummary
from tests.scrapers.smard.conftest import build_syncer, make_settings, series
from tests.scrapers.smard.fake_server import FakeSmard, FakeSmardServer, Fault
from tests.scrapers.smard.fixtures import local_ms, monday_starts
from tests.scrapers.smard.memory_gateway import MemoryGateway

HOUR = series(4169, "DE-LU", "hour")
QH = series(4169, "DE-LU", "quarterhour")
MISSING = series(4170, "DE", "hour")  # valid for SMARD, not served by the fake


async def run_once(
    server: FakeSmardServer, memory: MemoryGateway, *configured: object, **overrides: object
) -> RunSummary:
    settings = make_settings(server, series=list(configured), **overrides)
    async with httpx.AsyncClient() as smard_http:
        gateway_http = httpx.AsyncClient(transport=memory.transport())
        return await build_syncer(settings, smard_http, gateway_http).run_once()


async def test_a_404_series_is_reported_and_the_others_continue(
    smard_server: FakeSmardServer,
    fake: FakeSmard,
    memory_gateway: MemoryGateway,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="scrapers.smard")
    summary = await run_once(smard_server, memory_gateway, MISSING, HOUR)
    outcomes = {r.key: r.outcome for r in summary.reports}
    assert outcomes == {"smard:4170:DE:hour": "misconfigured", "smard:4169:DE-LU:hour": "ok"}
    assert summary.errors == 1
    # The three newest weeks: 169 + 168 hours, and the newest up to Wednesday 14:00.
    assert len(memory_gateway.values(HOUR.series_key)) == 169 + 168 + 62 == summary.rows
    lines = [json.loads(json_formatter().format(r)) for r in caplog.records]
    by_series = {line["series"]: line for line in lines}
    assert len(lines) == len(by_series) == 2
    assert by_series["smard:4170:DE:hour"]["outcome"] == "misconfigured"
    ok = by_series["smard:4169:DE-LU:hour"]
    assert (ok["chunks"], ok["rows"], ok["inserted"]) == (3, 399, 399)
    assert ok["duration_s"] >= 0 and "404" in by_series["smard:4170:DE:hour"]["error"]


async def test_second_run_writes_nothing_new(
    smard_server: FakeSmardServer, fake: FakeSmard, memory_gateway: MemoryGateway
) -> None:
    first = await run_once(smard_server, memory_gateway, QH)
    second = await run_once(smard_server, memory_gateway, QH)
    assert first.counts.inserted == (676 + 672 + 62 * 4)
    assert (second.counts.inserted, second.counts.updated) == (0, 0)
    assert second.counts.unchanged == second.rows > 0


async def test_chunks_are_packed_whole_below_the_point_limit(
    smard_server: FakeSmardServer, fake: FakeSmard, memory_gateway: MemoryGateway
) -> None:
    await run_once(
        smard_server,
        memory_gateway,
        QH,
        gateway={"url": "http://g/graphql", "max_points_per_request": 1000},
    )
    ingests = [
        r["body"]["variables"]["input"]
        for r in memory_gateway.requests
        if "ingest(" in r["body"]["query"]
    ]
    # Chunks of 676, 672 and 248 points: the last two share a mutation, none is split.
    assert [len(i["series"][0]["timestamps"]) for i in ingests] == [676, 672 + 248]


async def test_a_failing_chunk_stops_its_series_so_nothing_is_skipped(
    smard_server: FakeSmardServer, fake: FakeSmard, memory_gateway: MemoryGateway
) -> None:
    weeks = monday_starts(date(2025, 10, 20), fake.published_until)
    fake.inject(f"_hour_{weeks[1]}", *[Fault.http(503)] * 4)
    failed = await run_once(smard_server, memory_gateway, HOUR)
    assert failed.reports[0].outcome == "error"
    stored = memory_gateway.values(HOUR.series_key)
    # Only the chunk before the failure is stored, so lastTimestamp stays before the gap.
    assert len(stored) == 169
    healed = await run_once(smard_server, memory_gateway, HOUR)
    assert healed.errors == 0
    assert len(memory_gateway.values(HOUR.series_key)) == 169 + 168 + 62


async def test_sunday_afternoon_chunk_with_only_monday(
    smard_server: FakeSmardServer, fake: FakeSmard, memory_gateway: MemoryGateway
) -> None:
    await run_once(smard_server, memory_gateway, HOUR)
    fake.publish_until(local_ms(date(2025, 11, 11)))  # next week's chunk: Monday only
    summary = await run_once(smard_server, memory_gateway, HOUR)
    stored = memory_gateway.values(HOUR.series_key)
    # Last week's remainder (Wed 14:00 .. Sun 24:00 = 106 h) and Monday (24 h) are new.
    assert summary.counts.inserted == 106 + 24
    assert max(stored).timestamp() * 1000 == local_ms(date(2025, 11, 10), 23)


async def test_a_chunk_404_is_an_error_not_a_misconfiguration(
    smard_server: FakeSmardServer, fake: FakeSmard, memory_gateway: MemoryGateway
) -> None:
    weeks = monday_starts(date(2025, 10, 20), fake.published_until)
    fake.inject(f"_hour_{weeks[2]}", Fault.http(404))
    summary = await run_once(smard_server, memory_gateway, HOUR)
    (report,) = summary.reports
    assert (report.outcome, report.chunks, report.rows) == ("error", 2, 169 + 168)
    assert len(fake.paths(f"_hour_{weeks[2]}")) == 1  # 404 is not retried
