"""The dashboard in a real browser: Debian's Chromium, driven by playwright-core, against the
real gateway with the demo data on the real PostgreSQL (frontend/e2e/run.mjs has the checks).

Needs the built frontend (`npm ci && npm run build` in frontend/) and /usr/bin/chromium;
scripts/test provides both. Outside CI a missing one skips the test, in CI it fails.
Screenshots of every view are kept in frontend/e2e/screenshots/.

Before the browser run, the real sidecars compute what the scenario view and the forecast
overlay show: a battery scenario of the demo site and one without data (`python -m scenarios
run --once`), and forecasts of the demo site's PV and load issued at noon before the 25-hour
day (`python -m forecasting run --once --at ...`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from db.engine import Database
from devtools.demo import load_demo
from gateway.app import pool_from
from gateway.frontend import STATIC_DIR
from gateway.keys import issue_key
from gateway.schema import served_schema
from gateway.settings import Settings
from resolvers.auth import Scope
from tests.conftest import fresh_database, serving

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _require(ready: bool, reason: str) -> None:
    if not ready:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def _node() -> str:
    """The node binary, once everything the browser run needs is there."""
    _require((STATIC_DIR / "index.html").is_file(), "frontend not built (npm run build)")
    _require((FRONTEND / "node_modules" / "playwright-core").is_dir(), "npm ci not run")
    _require(Path(CHROMIUM).is_file(), f"no Chromium at {CHROMIUM}")
    node = shutil.which("node")
    _require(node is not None, "no node on PATH")
    assert node is not None
    return node


WEEK = {"from": "2025-10-20T00:00:00+02:00", "to": "2025-10-27T00:00:00+01:00"}
SCENARIOS: dict[str, dict[str, object]] = {
    "e2e-battery": {**WEEK, "battery": {"capacityKwh": 10, "powerKw": 5}},
    "e2e-no-data": {"from": "2024-01-01T00:00:00+01:00", "to": "2024-01-08T00:00:00+01:00"},
}
UPSERT_SCENARIO = """mutation($input: ScenarioInput!) {
  upsertScenario(input: $input) { userErrors { code message } } }"""
# Noon before the 25-hour day: the 48-hour forecast covers 2025-10-26 entirely, and its D+1
# series keeps this issue for that day.
FORECAST_AT = "2025-10-25T12:00:00+02:00"
FORECAST_CONFIG = """
discover = false
history_weeks = 2
[[targets]]
series = "demo:pv:power"
role = "pv"
site = "demo"
models = ["persistence", "seasonal_daily"]
[[targets]]
series = "demo:load:power"
role = "load"
models = ["persistence", "seasonal_daily"]
"""


def _sidecar(module: str, *args: str, token: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env={**clean, "PYTHONPATH": str(ROOT), "GATEWAY_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=180,
    )


def _compute_scenarios_and_forecasts(base_url: str, token: str) -> None:
    graphql = f"{base_url}/graphql"
    for key, fields in SCENARIOS.items():
        response = httpx.post(
            graphql,
            json={
                "query": UPSERT_SCENARIO,
                "variables": {"input": {"key": key, "site": "demo", **fields}},
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.json()["data"]["upsertScenario"]["userErrors"] == [], response.text
    done = _sidecar("scenarios", "run", "--once", "--gateway-url", graphql, token=token)
    assert "e2e-battery: DONE" in done.stdout, done.stdout + done.stderr
    assert "e2e-no-data: FAILED" in done.stdout, done.stdout + done.stderr
    with tempfile.NamedTemporaryFile("w", suffix=".toml") as config:
        config.write(FORECAST_CONFIG)
        config.flush()
        issued = _sidecar(
            "forecasting", "run", "--once", "--config", config.name,
            "--at", FORECAST_AT, "--gateway-url", graphql, token=token,
        )  # fmt: skip
    assert issued.returncode == 0, issued.stdout + issued.stderr


async def test_dashboard_views_in_chromium() -> None:
    node = _node()

    async with fresh_database("gw_e2e") as url:
        dev = Settings(env="dev", database_url=SecretStr(url))
        database = Database(url, pool_from(dev))
        try:
            await database.start()
            await load_demo(served_schema(dev), database)
            read = (await issue_key(database, [Scope.READ], name="e2e-read")).token
            ingest = (await issue_key(database, [Scope.INGEST], name="e2e-ingest")).token
            sidecars = await issue_key(database, [Scope.READ, Scope.INGEST], name="e2e-sidecars")
            sidecar_token = sidecars.token
        finally:
            await database.dispose()
        # The same data served twice: development (anonymous reads, GraphiQL) and production
        # (API keys), both on loopback ports.
        prod = Settings(env="prod", database_url=SecretStr(url))
        with serving(dev) as development, serving(prod) as production:
            await asyncio.to_thread(
                _compute_scenarios_and_forecasts, development.base_url, sidecar_token
            )
            env = {
                **os.environ,
                "BASE_URL": development.base_url,
                "PROD_BASE_URL": production.base_url,
                "READ_KEY": read,
                "INGEST_KEY": ingest,
                "CHROMIUM": CHROMIUM,
                "SCENARIOS": "e2e-battery,e2e-no-data",
                "FORECASTS": "1",
            }
            run = await asyncio.to_thread(
                subprocess.run,
                [node, "e2e/run.mjs"],
                cwd=FRONTEND,
                env=env,
                capture_output=True,
                text=True,
                timeout=240,
            )
    print(run.stdout)
    assert run.returncode == 0, run.stdout + run.stderr
    assert " 0 outside 127.0.0.1" in run.stdout
