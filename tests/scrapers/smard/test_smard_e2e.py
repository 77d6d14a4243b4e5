"""End to end: fake SMARD -> scraper (CLI or Syncer) -> real gateway over HTTP -> PostgreSQL.

Uses the shared fixtures `live_gateway` (uvicorn + migrated test database) and `sql`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from scrapers.smard.settings import SeriesConfig
from scrapers.smard.sync import RunSummary
from tests.scrapers.smard.conftest import build_syncer, make_settings, series
from tests.scrapers.smard.fake_server import FakeSmard, FakeSmardServer, Fault
from tests.scrapers.smard.fixtures import PUBLISHED_UNTIL, local_ms, monday_starts

REPO = Path(__file__).parents[3]
HOUR = series(4169, "DE-LU", "hour")
QH = series(4169, "DE-LU", "quarterhour")
PV = series(4068, "DE", "hour")
LOAD = series(410, "DE", "hour")
NEWEST_THREE = 169 + 168 + 62  # hourly points of the weeks of 10-20, 10-27 and 11-03
CLI_CONFIG = """
[http]
requests_per_second = 100
timeout_seconds = 2
[retry]
wait_initial_seconds = 0.01
wait_max_seconds = 0.05
"""


async def stored(sql: asyncpg.Connection, key: str) -> dict[int, float]:
    rows = await sql.fetch(
        "select (extract(epoch from s.ts) * 1000)::bigint as ms, s.value from samples s "
        "join series r on r.id = s.series_id where r.key = $1",
        key,
    )
    return {row["ms"]: row["value"] for row in rows}


async def local_day_count(sql: asyncpg.Connection, key: str, day: date) -> int:
    count = await sql.fetchval(
        "select count(*) from samples s join series r on r.id = s.series_id "
        "where r.key = $1 and (s.ts at time zone 'Europe/Berlin')::date = $2",
        key,
        day,
    )
    return int(count)


def expected(fake: FakeSmard, s: SeriesConfig, stamps: Sequence[int]) -> dict[int, float]:
    values = {ts: fake.value(s.filter, s.region, s.resolution, ts) for ts in stamps}
    return {ts: v for ts, v in values.items() if v is not None}


def week(monday: date, resolution: str) -> list[int]:
    step = 3_600_000 if resolution == "hour" else 900_000
    end = local_ms(date.fromordinal(monday.toordinal() + 7))
    return list(range(local_ms(monday), end, step))


def newest_weeks(resolution: str) -> list[int]:
    return [ts for m in (20, 27) for ts in week(date(2025, 10, m), resolution)] + week(
        date(2025, 11, 3), resolution
    )


async def cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scrapers.smard", *args,
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def cli_config(tmp_path: Path, *configured: SeriesConfig) -> Path:
    blocks = [
        f'[[series]]\nfilter = {s.filter}\nregion = "{s.region}"\nresolution = "{s.resolution}"\n'
        for s in configured
    ]
    path = tmp_path / "smard.toml"
    path.write_text(CLI_CONFIG + "\n".join(blocks), encoding="utf-8")
    return path


async def sync_once(
    server: FakeSmardServer,
    gateway_url: str,
    *configured: SeriesConfig,
    transport: httpx.AsyncBaseTransport | None = None,
    token: str | None = None,
) -> RunSummary:
    gateway = {"url": gateway_url, "retry": {"attempts": 4}, "token": token}
    settings = make_settings(server, series=list(configured), gateway=gateway)
    async with httpx.AsyncClient() as smard_http, httpx.AsyncClient(transport=transport) as gw:
        return await build_syncer(settings, smard_http, gw).run_once()


async def test_backfill_cli_stores_the_23_and_25_hour_days(
    smard_server: FakeSmardServer, fake: FakeSmard, live_gateway: Any, sql: asyncpg.Connection,
    tmp_path: Path,
) -> None:  # fmt: skip
    config = cli_config(tmp_path, QH, HOUR, PV)
    common = ["--config", str(config), "--base-url", smard_server.base_url]
    common += ["--gateway-url", live_gateway.url]
    rc, out, err = await cli("backfill", "--from", "2025-03-30", "--to", "2025-03-30", *common)
    assert rc == 0, err
    assert "chunks fetched: 3, rows sent: 1002, rows inserted: 1002, updated: 0" in out
    assert await local_day_count(sql, QH.series_key, date(2025, 3, 30)) == 92
    assert await local_day_count(sql, HOUR.series_key, date(2025, 3, 30)) == 23
    for s in (QH, HOUR, PV):
        assert await stored(sql, s.series_key) == expected(
            fake, s, week(date(2025, 3, 24), s.resolution)
        )
    pv = await stored(sql, PV.series_key)
    assert 0.0 in pv.values()  # night-time zeros are data, not gaps

    rc, out, err = await cli("backfill", "--from", "2025-10-26", *common, "--to", "2025-10-26")
    assert rc == 0, err
    assert "rows inserted: 1014" in out  # 676 + 169 + 169
    assert await local_day_count(sql, QH.series_key, date(2025, 10, 26)) == 100
    assert await local_day_count(sql, HOUR.series_key, date(2025, 10, 26)) == 25

    meta = await sql.fetchrow("select * from series where key = $1", QH.series_key)
    assert (meta["kind"], meta["unit"], meta["resolution"]) == ("PRICE", "EUR/MWh", "PT15M")
    assert meta["source"] == "smard" and meta["timezone"] == "Europe/Berlin"
    pv_meta = await sql.fetchrow("select * from series where key = $1", PV.series_key)
    assert (pv_meta["kind"], pv_meta["unit"], pv_meta["resolution"]) == ("ENERGY", "MWh", "PT1H")


async def test_run_once_cli_default_series_is_idempotent_and_skips_nulls(
    smard_server: FakeSmardServer, fake: FakeSmard, live_gateway: Any, sql: asyncpg.Connection,
    tmp_path: Path,
) -> None:  # fmt: skip
    config = tmp_path / "fast.toml"
    config.write_text(CLI_CONFIG, encoding="utf-8")  # no [[series]]: the built-in defaults
    args = ["run", "--once", "--config", str(config), "--base-url", smard_server.base_url]
    args += ["--gateway-url", live_gateway.url]
    rc, out, err = await cli(*args)
    assert rc == 0, err
    total = 14 * NEWEST_THREE + (676 + 672 + 62 * 4)
    assert f"rows inserted: {total}, updated: 0" in out
    assert await sql.fetchval("select count(*) from series") == 15
    assert await sql.fetchval("select count(*) from samples") == total
    newest = await sql.fetchval("select max(ts) from samples")
    assert newest.timestamp() * 1000 < PUBLISHED_UNTIL  # trailing nulls stored nowhere
    assert await stored(sql, QH.series_key) == expected(fake, QH, newest_weeks("quarterhour"))
    # One JSON log line per series.
    lines = [json.loads(line) for line in err.splitlines() if '"series synced"' in line]
    assert len(lines) == 15 and all(line["outcome"] == "ok" for line in lines)

    rc, out, err = await cli(*args)
    assert rc == 0, err
    assert "rows inserted: 0, updated: 0" in out
    assert await sql.fetchval("select count(*) from samples") == total


async def test_revisions_replace_stored_values(
    smard_server: FakeSmardServer, fake: FakeSmard, live_gateway: Any, sql: asyncpg.Connection
) -> None:
    await sync_once(smard_server, live_gateway.url, QH, HOUR)
    revised_from = local_ms(date(2025, 11, 4))
    fake.revise(revised_from, 1.25)
    summary = await sync_once(smard_server, live_gateway.url, QH, HOUR)
    counts = {r.key: r.counts for r in summary.reports}
    assert counts[HOUR.series_key].updated == 38  # Tue 00:00 .. Wed 14:00
    assert counts[QH.series_key].updated == 38 * 4
    assert summary.counts.inserted == 0
    for s in (QH, HOUR):
        values = await stored(sql, s.series_key)
        assert values == expected(fake, s, newest_weeks(s.resolution))
        bumped = [ts for ts in values if ts >= revised_from]
        assert all(
            values[ts] == pytest.approx(fake.value(s.filter, s.region, s.resolution, ts))
            for ts in bumped
        )


async def test_smard_faults_are_retried_and_nothing_is_lost(
    smard_server: FakeSmardServer, fake: FakeSmard, live_gateway: Any, sql: asyncpg.Connection
) -> None:
    weeks = monday_starts(date(2025, 10, 20), PUBLISHED_UNTIL)
    fake.inject("4169/DE-LU/index_hour", Fault.http(429, "1"), Fault.http(503))
    fake.inject(f"quarterhour_{weeks[0]}", Fault.truncated(), Fault.html())
    fake.inject(f"hour_{weeks[1]}", Fault.slow(1.5))
    fake.inject(f"4068_DE_hour_{weeks[2]}", Fault.http(502), Fault.http(500), Fault.http(503))
    summary = await sync_once(smard_server, live_gateway.url, QH, HOUR, PV)
    assert summary.errors == 0
    for s in (QH, HOUR, PV):
        assert await stored(sql, s.series_key) == expected(fake, s, newest_weeks(s.resolution))
    statuses = sorted({h.status for h in fake.hits})
    assert statuses == [200, 429, 500, 502, 503]


async def test_a_404_series_does_not_block_the_others(
    smard_server: FakeSmardServer, fake: FakeSmard, live_gateway: Any, sql: asyncpg.Connection
) -> None:
    missing = series(4170, "DE", "hour")
    summary = await sync_once(smard_server, live_gateway.url, missing, LOAD)
    assert [(r.key, r.outcome) for r in summary.reports] == [
        (missing.series_key, "misconfigured"),
        (LOAD.series_key, "ok"),
    ]
    assert len(await stored(sql, LOAD.series_key)) == NEWEST_THREE
    assert await sql.fetchval("select count(*) from series where key = $1", missing.series_key) == 0


async def test_failed_chunk_is_picked_up_by_the_next_run(
    smard_server: FakeSmardServer, fake: FakeSmard, live_gateway: Any, sql: asyncpg.Connection
) -> None:
    weeks = monday_starts(date(2025, 10, 20), PUBLISHED_UNTIL)
    fake.inject(f"_hour_{weeks[1]}", *[Fault.http(503)] * 4)
    failed = await sync_once(smard_server, live_gateway.url, LOAD)
    assert failed.reports[0].outcome == "error"
    assert len(await stored(sql, LOAD.series_key)) == 169
    healed = await sync_once(smard_server, live_gateway.url, LOAD)
    assert healed.errors == 0
    assert await stored(sql, LOAD.series_key) == expected(fake, LOAD, newest_weeks("hour"))


class FlakyGateway(httpx.AsyncBaseTransport):
    """Real HTTP to the gateway, except for scripted outages in front of it."""

    def __init__(self, outages: list[str]) -> None:
        self._real = httpx.AsyncHTTPTransport()
        self._outages = outages
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        kind = self._outages.pop(0) if self._outages else "ok"
        if kind != "ok":
            if kind == "refused":
                raise httpx.ConnectError("connection refused", request=request)
            return httpx.Response(int(kind), headers={"Retry-After": "1"}, request=request)
        return await self._real.handle_async_request(request)

    async def aclose(self) -> None:
        await self._real.aclose()


async def test_unavailable_gateway_is_retried_and_nothing_is_skipped(
    smard_server: FakeSmardServer, fake: FakeSmard, live_gateway: Any, sql: asyncpg.Connection
) -> None:
    # At most three failures in a row: the test mode allows four attempts per call.
    script = ["503", "refused", "502", "ok", "503", "refused", "ok"]
    flaky = FlakyGateway(list(script))
    summary = await sync_once(smard_server, live_gateway.url, HOUR, transport=flaky)
    assert summary.errors == 0
    assert flaky.calls == len(script)  # the upsert and the one ingest, each retried
    assert await stored(sql, HOUR.series_key) == expected(fake, HOUR, newest_weeks("hour"))


async def test_an_ingest_scoped_key_is_enough_and_a_wrong_key_is_not_retried(
    smard_server: FakeSmardServer, fake: FakeSmard, live_gateway: Any, sql: asyncpg.Connection,
    api_keys: dict[str, str],
) -> None:  # fmt: skip
    ok = await sync_once(smard_server, live_gateway.url, LOAD, token=api_keys["ingest"])
    assert ok.errors == 0
    assert len(await stored(sql, LOAD.series_key)) == NEWEST_THREE
    flaky = FlakyGateway([])  # counts requests, changes nothing
    denied = await sync_once(
        smard_server, live_gateway.url, HOUR, transport=flaky, token=api_keys["read"]
    )
    (report,) = denied.reports
    assert report.outcome == "error" and "403" in (report.error or "")
    assert flaky.calls == 1


async def test_sunday_afternoon_chunk_adds_monday_and_completes_the_week(
    smard_server: FakeSmardServer, fake: FakeSmard, live_gateway: Any, sql: asyncpg.Connection
) -> None:
    await sync_once(smard_server, live_gateway.url, QH)
    fake.publish_until(local_ms(date(2025, 11, 11)))
    summary = await sync_once(smard_server, live_gateway.url, QH)
    assert summary.counts.inserted == (106 + 24) * 4  # rest of last week, then Monday
    monday = date(2025, 11, 10)
    assert await local_day_count(sql, QH.series_key, monday) == 96
    assert await local_day_count(sql, QH.series_key, date(2025, 11, 9)) == 96
    everything = newest_weeks("quarterhour") + week(monday, "quarterhour")
    assert await stored(sql, QH.series_key) == expected(fake, QH, everything)
