"""Kill PostgreSQL in the middle of a large ingest (docs/testing.md, Fault tests).

A PostgreSQL cluster of the test's own (initdb under /tmp as the `postgres` OS user, on a free
loopback port; the system cluster is never touched) is migrated with `python -m gateway
migrate`, an ingest key is made with `python -m gateway keys create`, and the gateway runs as a
real `python -m gateway serve` process in production mode. The scraper's own publisher
(`scrapers.smard.publish.GatewayClient`: stamina retries, full jitter, Retry-After honoured)
sends N rows for two series in 10,000-row mutations, two in flight at a time. When ~30 % of the
batches are acknowledged the cluster is crash-stopped (`pg_ctl stop -m immediate`: no
checkpoint, WAL recovery on restart) and started again 5 s later.

Pass: the publisher finishes without help; count(*) and sum(value) are exact; the gateway
answered only 200 or 503, every 503 carried Retry-After, and at least one outage response was
seen (so the crash really hit the ingest).

N = 200,000 by default, 1,000,000 with FULL_TESTS=1.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from scrapers.smard.publish import GatewayClient
from scrapers.smard.settings import GatewayRetrySettings, GatewaySettings, SeriesConfig
from tests.conftest import _free_port as free_port

pytestmark = pytest.mark.slow

FULL = os.environ.get("FULL_TESTS") == "1"
ROWS = 1_000_000 if FULL else 200_000
BATCH = 10_000
CRASH_AT = 0.30  # fraction of batches acknowledged before the crash
DOWN_S = 5.0
SERIES = (
    SeriesConfig(filter=4169, region="DE-LU", resolution="quarterhour"),
    SeriesConfig(filter=4169, region="DE", resolution="quarterhour"),
)
START_MS = int(datetime(2011, 1, 1, tzinfo=UTC).timestamp() * 1000)
STEP_MS = 15 * 60 * 1000
ROOT = Path(__file__).resolve().parents[2]


def value(i: int) -> float:
    # Multiples of 0.25 below 250: every partial sum is exact in float8, in any order.
    return (i % 1000) * 0.25


def expected_sum(rows_per_series: int) -> float:
    return len(SERIES) * sum(value(i) for i in range(rows_per_series))


@dataclass
class Gateway:
    url: str  # GraphQL endpoint
    base: str
    token: str
    process: subprocess.Popen[bytes]
    log: Path


def _cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def gateway(throwaway_postgres: Any, tmp_path: Path) -> Iterator[Gateway]:
    """`python -m gateway migrate`, `keys create`, then `serve` against the throwaway cluster."""
    env = {
        **os.environ,
        "DATABASE_URL": throwaway_postgres.url,
        "GATEWAY_ENV": "prod",
        "GATEWAY_RETRY_AFTER_S": "1",  # the publisher honours it; keeps the test short
        "GATEWAY_DB_CONNECT_TIMEOUT_S": "1",
        "GATEWAY_DB_POOL_TIMEOUT_S": "2",
    }
    _cli(env, "migrate")
    created = _cli(env, "keys", "create", "--scope", "ingest", "--name", "fault-test")
    token = re.search(r"^token:\s+(\S+)$", created, re.MULTILINE)
    assert token, created
    port = free_port()
    log = tmp_path / "gateway.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "gateway did not become ready"
            time.sleep(0.1)
        yield Gateway(f"{base}/graphql", base, token.group(1), process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Observed:
    crash_after: int  # acknowledged batches before the crash
    statuses: Counter[int] = field(default_factory=Counter)
    missing_retry_after: int = 0
    acknowledged: int = 0  # batches
    crash_due: asyncio.Event = field(default_factory=asyncio.Event)
    crash_at: float = 0.0
    restart_done_at: float = 0.0

    def batch_acknowledged(self) -> None:
        self.acknowledged += 1
        if self.acknowledged >= self.crash_after:
            self.crash_due.set()

    async def on_response(self, response: httpx.Response) -> None:
        self.statuses[response.status_code] += 1
        if response.status_code == 503 and "retry-after" not in response.headers:
            self.missing_retry_after += 1


async def publish_series(
    client: GatewayClient, series: SeriesConfig, rows: int, observed: Observed
) -> int:
    await client.upsert_series(series)
    sent = 0
    for first in range(0, rows, BATCH):
        n = min(BATCH, rows - first)
        timestamps = [START_MS + (first + i) * STEP_MS for i in range(n)]
        values = [value(first + i) for i in range(n)]
        counts = await client.ingest(series.series_key, timestamps, values)
        assert counts.accepted == n
        observed.batch_acknowledged()
        sent += n
    return sent


async def crash_and_restart(pg: Any, observed: Observed) -> None:
    await observed.crash_due.wait()
    observed.crash_at = time.monotonic()
    await asyncio.to_thread(pg.stop, "immediate")
    await asyncio.sleep(DOWN_S)
    await asyncio.to_thread(pg.start)  # WAL recovery runs here
    observed.restart_done_at = time.monotonic()


async def test_crash_stop_postgres_mid_ingest_loses_nothing(
    gateway: Gateway, throwaway_postgres: Any
) -> None:
    per_series = ROWS // len(SERIES)
    batches = len(SERIES) * -(-per_series // BATCH)
    observed = Observed(crash_after=round(CRASH_AT * batches))
    settings = GatewaySettings(
        url=gateway.url,
        token=SecretStr(gateway.token),
        timeout_seconds=60,
        max_points_per_request=BATCH,
        retry=GatewayRetrySettings(
            attempts=None, timeout_seconds=300, wait_initial_seconds=0.2, wait_max_seconds=2
        ),
    )
    started = time.monotonic()
    async with httpx.AsyncClient(event_hooks={"response": [observed.on_response]}) as http:
        client = GatewayClient(http, settings=settings)
        crash = asyncio.create_task(crash_and_restart(throwaway_postgres, observed))
        sent = await asyncio.gather(
            *(publish_series(client, s, per_series, observed) for s in SERIES)
        )
        await crash
    elapsed = time.monotonic() - started

    conn = await asyncpg.connect(throwaway_postgres.url)
    try:
        count, total = await conn.fetchrow("SELECT count(*), sum(value) FROM samples")
    finally:
        await conn.close()
    print(
        f"\nkill-postgres: rows={count} sum={total} batches={batches} "
        f"responses={dict(observed.statuses)} requests={client.requests} "
        f"crash after {observed.crash_at - started:.1f}s, down {DOWN_S:.0f}s, "
        f"restart took {observed.restart_done_at - observed.crash_at - DOWN_S:.1f}s, "
        f"total {elapsed:.1f}s"
    )
    assert sum(sent) == count == len(SERIES) * per_series
    assert total == expected_sum(per_series)
    assert set(observed.statuses) <= {200, 503}, observed.statuses
    assert observed.missing_retry_after == 0
    assert observed.statuses[503] > 0, "the crash did not hit the ingest"
    assert gateway.process.poll() is None, "the gateway must survive the database"
