"""The dashboard in a real browser: Debian's Chromium, driven by playwright-core, against the
real gateway with the demo data on the real PostgreSQL (frontend/e2e/run.mjs has the checks).

Needs the built frontend (`npm ci && npm run build` in frontend/) and /usr/bin/chromium;
scripts/test provides both. Outside CI a missing one skips the test, in CI it fails.
Screenshots of every view are kept in frontend/e2e/screenshots/.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from pydantic import SecretStr

from db.engine import Database
from devtools.demo import load_demo
from gateway.app import create_app, pool_from
from gateway.frontend import STATIC_DIR
from gateway.keys import issue_key
from gateway.schema import served_schema
from gateway.settings import Settings
from resolvers.auth import Scope
from tests.conftest import _free_port, fresh_database

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
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


def _serve(settings: Settings) -> tuple[uvicorn.Server, threading.Thread, str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{port}"


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
        finally:
            await database.dispose()
        # The same data served twice: development (anonymous reads, GraphiQL) and production
        # (API keys), both on loopback ports.
        servers = [_serve(dev), _serve(Settings(env="prod", database_url=SecretStr(url)))]
        try:
            for server, thread, _ in servers:
                deadline = time.monotonic() + 20
                while not server.started:
                    assert time.monotonic() < deadline and thread.is_alive(), "no gateway"
                    await asyncio.sleep(0.05)
            env = {
                **os.environ,
                "BASE_URL": servers[0][2],
                "PROD_BASE_URL": servers[1][2],
                "READ_KEY": read,
                "INGEST_KEY": ingest,
                "CHROMIUM": CHROMIUM,
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
        finally:
            for server, thread, _ in servers:
                server.should_exit = True
                await asyncio.to_thread(thread.join, 30)
    print(run.stdout)
    assert run.returncode == 0, run.stdout + run.stderr
    assert " 0 outside 127.0.0.1" in run.stdout
