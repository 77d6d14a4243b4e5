"""Helpers for the gateway's security and operations tests."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr

from gateway.logs import json_formatter
from gateway.settings import Settings
from tests.conftest import LiveGateway, _free_port, running_app, serving

__all__ = ["Gateway", "bearer", "running_app", "settings_for"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def settings_for(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {"env": "prod", "database_url": SecretStr(url)}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything logged during the test, rendered by the production JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def log_records(stream: io.StringIO) -> list[dict[str, Any]]:
    """Parse every line; fails on any line that is not a JSON object."""
    records = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    assert all(isinstance(r, dict) for r in records)
    return records


@pytest.fixture(scope="session")
def prod_live_gateway(prod_settings: Settings) -> Iterator[LiveGateway]:
    """The production-mode gateway, live on a loopback port (keys required; `serving`)."""
    with serving(prod_settings) as gateway:
        yield gateway


@dataclass
class Gateway:
    process: subprocess.Popen[bytes]
    base: str
    log: Path
    port: int


@pytest.fixture
def start_gateway(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """`start(name, **env)`: a real `python -m gateway serve` process in production mode on
    a loopback port, ready; `env` adds GATEWAY_* settings. Killed at the end of the test."""
    started: list[Gateway] = []

    def start(name: str, **settings: str) -> Gateway:
        port = _free_port()
        log = tmp_path / f"{name}.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "GATEWAY_ENV": "prod",
            "GATEWAY_SHUTDOWN_TIMEOUT_S": "20",
            **{f"GATEWAY_{k.upper()}": v for k, v in settings.items()},
        }
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1",
                 "--port", str(port)],
                env=env, stdout=stderr, stderr=stderr,
            )  # fmt: skip
        gateway = Gateway(process, f"http://127.0.0.1:{port}", log, port)
        started.append(gateway)
        deadline = time.monotonic() + 90  # imports alone take 10+ s on a busy machine
        while True:
            try:
                if httpx.get(f"{gateway.base}/readyz", timeout=1).status_code == 200:
                    return gateway
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "gateway did not become ready"
            time.sleep(0.1)

    yield start
    for gateway in started:
        if gateway.process.poll() is None:
            gateway.process.kill()
            gateway.process.wait()
