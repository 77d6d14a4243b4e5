"""`python -m gateway serve --workers 2` as a real process tree: both workers serve, a dead
worker is replaced, SIGTERM drains them all, and a configuration over the connection budget
is refused before anything starts (gateway.workers, gateway.pool_plan)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import _free_port

LIST = {"query": "{ seriesList { nodes { key } } }"}


def _env(database_url: str, **settings: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "GATEWAY_ENV": "dev",  # anonymous reads: this is about processes, not keys
        **{f"GATEWAY_{k.upper()}": v for k, v in settings.items()},
    }


def _serve(database_url: str, port: int, log: Path, *args: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port"]
    with log.open("wb") as out:
        return subprocess.Popen(
            [*command, str(port), *args], env=_env(database_url), stdout=out, stderr=out
        )


def _workers(supervisor: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """The supervisor's gateway workers (multiprocessing's own helper is not one)."""
    children = psutil.Process(supervisor.pid).children()
    return [c for c in children if "spawn_main" in " ".join(c.cmdline())]


def _served(base: str) -> bool:
    try:
        # A fresh connection each time, so the kernel hands it to whichever worker accepts.
        with httpx.Client(timeout=3) as client:
            response = client.post(f"{base}/graphql", json=LIST)
        return response.status_code == 200 and response.json() == {
            "data": {"seriesList": {"nodes": []}}
        }
    except httpx.HTTPError:
        return False


def _until(check: Callable[[], bool], what: str, log: Path, seconds: float = 90) -> None:
    """Poll (a bound for a stuck test on a busy machine, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what}\n{log.read_text()[-3000:]}"
        time.sleep(0.2)


@pytest.fixture
def two_workers(
    database_url: str, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    port = _free_port()
    log = tmp_path / "workers.log"
    supervisor = _serve(database_url, port, log, "--workers", "2")
    try:
        yield supervisor, f"http://127.0.0.1:{port}", log
    finally:
        if supervisor.poll() is None:
            for worker in _workers(supervisor):
                worker.kill()
            supervisor.kill()
            supervisor.wait()


def test_two_workers_each_serve_and_a_dead_one_is_replaced(
    two_workers: tuple[subprocess.Popen[bytes], str, Path],
) -> None:
    supervisor, base, log = two_workers
    _until(lambda: len(_workers(supervisor)) == 2 and _served(base), "not serving", log)
    first, second = _workers(supervisor)
    # Each worker serves on its own: with the other one stopped, every request still succeeds.
    for stopped, running in ((first, second), (second, first)):
        stopped.suspend()
        try:
            for _ in range(3):
                assert _served(base), f"worker {running.pid} did not serve alone"
        finally:
            stopped.resume()
    first.kill()  # a crash: the supervisor starts a replacement
    first.wait(30)

    def replaced() -> bool:
        pids = {w.pid for w in _workers(supervisor)}
        return len(pids) == 2 and first.pid not in pids and second.pid in pids

    _until(replaced, "the dead worker was not replaced", log)
    _until(lambda: _served(base), "not serving after the replacement", log)
    assert "worker exited unexpectedly" in log.read_text()
    workers = _workers(supervisor)
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(60) == 0
    for worker in workers:
        assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
    assert not _served(base)


def test_workers_over_the_connection_budget_are_refused(database_url: str) -> None:
    command = [sys.executable, "-m", "gateway", "serve", "--port", str(_free_port())]
    result = subprocess.run(
        [*command, "--workers", "4"],
        env=_env(database_url, db_max_connections="16"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "GATEWAY_DB_MAX_CONNECTIONS=16 cannot serve 4 worker(s)" in result.stderr
    assert "to 20 or more" in result.stderr
    assert "worker started" not in result.stdout + result.stderr  # refused before any start
