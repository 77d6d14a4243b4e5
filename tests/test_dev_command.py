"""`python -m gateway dev` without DATABASE_URL: the README's first command, end to end.

Starts the embedded PostgreSQL in a temporary folder, loads the demo data through the ingest
mutation, serves GraphiQL, answers the printed example query, and stops the embedded server
again on SIGTERM (and keeps the data for the next run).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from devtools.demo import EXAMPLE_QUERY
from tests.conftest import _free_port

ROOT = Path(__file__).resolve().parent.parent


def _postmasters(data_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if any(str(data_dir) in part for part in cmdline) and "postgres" in cmdline[0]:
            found.append(process)
    return found


def _start(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"GATEWAY_DATA_DIR": str(data_dir), "GATEWAY_ENV": "dev"}
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "dev", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _wait_ready(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError("gateway dev did not come up")


@pytest.mark.slow
def test_dev_command_serves_demo_data_and_stops_its_embedded_server(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    for run in range(2):  # the second run reuses the kept data directory
        process = _start(data_dir, port)
        try:
            _wait_ready(url, process)
            body = httpx.post(f"{url}/graphql", json={"query": EXAMPLE_QUERY}, timeout=10).json()
            aggregate = body["data"]["series"]["aggregate"]
            # 2025-10-26 is the 25-hour Berlin day: 100 quarter-hours.
            assert aggregate["count"][6] == 100, aggregate
            ide = httpx.get(f"{url}/graphql", headers={"accept": "text/html"}, timeout=5)
            assert ide.status_code == 200 and "graphiql" in ide.text.lower()
            assert _postmasters(data_dir), "embedded PostgreSQL is not running"
        finally:
            process.send_signal(signal.SIGTERM)
            output = process.communicate(timeout=60)[0]
        assert "demo data loaded" in output and "embedded PostgreSQL stopped" in output, output
        assert not _postmasters(data_dir), f"run {run}: embedded PostgreSQL left running"
