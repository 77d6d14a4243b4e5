"""The gateway under test: `python -m gateway serve` as a real uvicorn subprocess."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

__all__ = ["GatewayProcess", "start_gateway"]


@dataclass
class GatewayProcess:
    process: subprocess.Popen[bytes]
    url: str  # the GraphQL endpoint

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_bytes(self) -> int:
        return int(psutil.Process(self.pid).memory_info().rss)

    def peak_rss_bytes(self) -> int:
        """The kernel's high-water mark of resident memory (VmHWM) since start or reset."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return self.rss_bytes()

    def reset_peak_rss(self) -> None:
        # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_gateway(
    database_url: str,
    log_path: Path,
    settings: dict[str, str] | None = None,
    source: Path | None = None,
    start_timeout_s: float = 120.0,  # imports alone take 10+ s on a busy 2-core machine
) -> GatewayProcess:
    """`settings` adds or overrides GATEWAY_* variables (names without the prefix); `source`
    runs the gateway from another checkout (e.g. main, for a same-run comparison)."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "GATEWAY_ENV": "dev",  # anonymous access; the benchmark measures the data path
        "GATEWAY_LOG_LEVEL": "WARNING",
        **{f"GATEWAY_{k.upper()}": v for k, v in (settings or {}).items()},
    }
    if source is not None:
        env["PYTHONPATH"] = str(source)
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=source,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + start_timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited with {process.returncode}; see {log_path}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"gateway did not start; see {log_path}")
        time.sleep(0.1)
    return GatewayProcess(process, f"{base}/graphql")


def add_database_url(parser: argparse.ArgumentParser) -> None:
    """`--database-url`, the server every bench creates its scratch database on."""
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="server to benchmark; a scratch database is created on it (env BENCH_DATABASE_URL)",
    )
