"""Graceful shutdown of a real `python -m gateway serve` process under concurrent ingests:
readiness flips at once, in-flight requests finish, the process exits within the bound, and
after the client retries what was refused the row count and sum are exact."""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from gateway.health import Lifecycle
from gateway.serve import GatewayServer
from tests.gateway.conftest import bearer, running_app, settings_for

BATCHES, POINTS = 20, 5_000
START = datetime(2023, 1, 1, tzinfo=UTC)
INGEST = """mutation Shutdown($input: IngestInput!) {
  ingest(input: $input) { accepted userErrors { code } } }"""


def _batch(i: int) -> dict[str, Any]:
    first = START + timedelta(minutes=15 * POINTS * i)
    ts = [(first + timedelta(minutes=15 * j)).isoformat() for j in range(POINTS)]
    values = [float(i * POINTS + j) for j in range(POINTS)]
    return {"input": {"series": [{"key": "shutdown:a", "timestamps": ts, "values": values}]}}


@dataclass
class Outcome:
    statuses: list[int | str] = field(default_factory=list)
    acknowledged_at: float | None = None


async def _send(client: httpx.AsyncClient, url: str, token: str, i: int, outcome: Outcome) -> None:
    try:
        response = await client.post(
            f"{url}/graphql", json={"query": INGEST, "variables": _batch(i)}, headers=bearer(token)
        )
    except httpx.TransportError as exc:  # refused or cut: the client retries later
        outcome.statuses.append(type(exc).__name__)
        return
    outcome.statuses.append(response.status_code)
    if response.status_code == 200:
        assert response.json()["data"]["ingest"]["accepted"] == POINTS
        outcome.acknowledged_at = time.monotonic()
    else:
        assert response.status_code == 503 and response.headers["Retry-After"], response.text


async def test_sigterm_during_concurrent_ingests_loses_nothing(
    start_gateway: Any, api_keys: dict[str, str], sql: Any
) -> None:
    token = api_keys["ingest"]
    # Every batch in flight at once (the per-tenant ingest limit would refuse most of them).
    gateway = start_gateway("first", ingest_max_concurrent=str(BATCHES))
    upsert = 'mutation { upsertSeries(input: {key: "shutdown:a", kind: POWER, unit: "W"}) { key } }'
    async with httpx.AsyncClient(
        timeout=60, limits=httpx.Limits(max_connections=BATCHES)
    ) as client:
        r = await client.post(
            f"{gateway.base}/graphql", json={"query": upsert}, headers=bearer(token)
        )
        assert r.status_code == 200, r.text
        outcomes = [Outcome() for _ in range(BATCHES)]
        tasks = [
            asyncio.create_task(_send(client, gateway.base, token, i, outcomes[i]))
            for i in range(BATCHES)
        ]
        await asyncio.sleep(0.3)  # requests are being read and written
        sigterm_at = time.monotonic()
        gateway.process.send_signal(signal.SIGTERM)
        # Readiness: from now on never 200 (503 while the listener is open, then refused).
        readiness: list[int | str] = []
        while time.monotonic() - sigterm_at < 0.5:
            try:
                readiness.append(
                    (await client.get(f"{gateway.base}/readyz", timeout=1)).status_code
                )
            except httpx.TransportError as exc:
                readiness.append(type(exc).__name__)
            await asyncio.sleep(0.02)
        assert 200 not in readiness, readiness
        await asyncio.gather(*tasks)
        exit_code = await asyncio.to_thread(gateway.process.wait, 30)
        exited_after = time.monotonic() - sigterm_at
        assert exit_code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once done
        assert exited_after < 22  # shutdown_timeout_s=20 plus the lifespan shutdown

        statuses = [s for o in outcomes for s in o.statuses]
        assert 500 not in statuses, statuses
        finished_after_sigterm = [
            o for o in outcomes if o.acknowledged_at is not None and o.acknowledged_at > sigterm_at
        ]
        assert finished_after_sigterm, "no request was in flight at SIGTERM; test proves nothing"
        print(
            f"\nSIGTERM with {BATCHES} ingests of {POINTS} points: "
            f"{sum(o.acknowledged_at is not None for o in outcomes)} acknowledged "
            f"({len(finished_after_sigterm)} of them after SIGTERM), "
            f"exit after {exited_after:.2f}s, "
            f"readiness after SIGTERM: {sorted(set(map(str, readiness)))}, "
            f"first-attempt results: {sorted(map(str, statuses))}"
        )

        # The client retries what was not acknowledged, against a fresh process.
        second = start_gateway("second", ingest_max_concurrent=str(BATCHES))
        pending = [i for i, o in enumerate(outcomes) if o.acknowledged_at is None]
        await asyncio.gather(*(_send(client, second.base, token, i, outcomes[i]) for i in pending))
        assert all(o.acknowledged_at is not None for o in outcomes)

    count, total = await sql.fetchrow("SELECT count(*), sum(value) FROM samples")
    n = BATCHES * POINTS
    assert count == n and total == n * (n - 1) / 2

    for line in gateway.log.read_text().splitlines():
        record = orjson.loads(line)  # every line of the server's output is JSON
        assert "request_id" in record and "level" in record, record
    access = [orjson.loads(x) for x in gateway.log.read_text().splitlines()]
    access = [r for r in access if r.get("logger") == "gateway.access"]
    assert access and all(r["request_id"] for r in access)
    assert "egw_" not in gateway.log.read_text()


async def test_readiness_flips_when_the_signal_arrives(database_url: str) -> None:
    """In-process: the server hook marks the app draining before uvicorn stops anything."""
    import uvicorn

    # A generous readiness timeout: on a loaded machine the 1 s default can time out.
    settings = settings_for(database_url, env="dev", readiness_timeout_s=10)
    async with running_app(settings) as (app, client):
        assert (await client.get("/readyz")).status_code == 200
        lifecycle: Lifecycle = app.state.lifecycle
        server = GatewayServer(uvicorn.Config(app), lifecycle)
        server.handle_exit(signal.SIGTERM, None)
        assert server.should_exit
        response = await client.get("/readyz")
        assert response.status_code == 503 and "Retry-After" in response.headers
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "UNAVAILABLE"
        assert "(shutting down)" in error["message"]
        assert (await client.get("/healthz")).status_code == 200
