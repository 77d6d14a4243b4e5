"""`serve --workers N`: N gateway processes on one listening socket, under a small supervisor
(docs/operations.md, "Worker processes").

The supervisor checks that N workers fit the connection budget (`gateway.pool_plan`), binds
the socket once and spawns the workers; each builds its own app, pools and in-memory state
and serves with `gateway.serve.serve`. The kernel spreads connections across them. Then:

- SIGTERM or SIGINT: every worker gets SIGTERM and drains as a single process does (up to
  `shutdown_timeout_s`); one still running after that and a margin is killed. Exit 0.
- A worker that exits on its own is replaced. Workers that keep dying young
  (`MAX_QUICK_DEATHS` in a row, each within `MIN_LIFE_S` of its start) mean the gateway
  cannot run: the supervisor stops the others and exits 1 rather than restart forever.
- A worker whose supervisor has gone (killed) shuts down by itself (`GatewayServer.on_tick`).

Spawned, not forked: a worker starts from a clean interpreter, with no event loop, thread
or connection inherited from the supervisor.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from types import FrameType

from gateway.logs import configure_logging
from gateway.pool_plan import plan_pools
from gateway.serve import serve
from gateway.settings import Settings

__all__ = ["MAX_QUICK_DEATHS", "MIN_LIFE_S", "Supervisor", "bind_socket"]

log = logging.getLogger("gateway.workers")

MIN_LIFE_S = 10.0
MAX_QUICK_DEATHS = 3
_STOP_MARGIN_S = 5.0  # beyond shutdown_timeout_s, before a worker is killed

_SPAWN = multiprocessing.get_context("spawn")


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _worker(settings: Settings, host: str, port: int, sock: socket.socket, parent: int) -> None:
    serve(settings, host, port, sock=sock, supervisor_pid=parent)


@dataclass
class _Worker:
    process: BaseProcess
    started: float


class Supervisor:
    def __init__(self, settings: Settings, host: str, port: int) -> None:
        self.settings = settings
        self.host = host
        self.port = port
        self.stop_requested = threading.Event()
        self.workers: list[_Worker] = []

    def run(self) -> int:
        """Serve until a stop signal (0) or until workers cannot stay up (1)."""
        configure_logging(self.settings.log_level)
        plan = plan_pools(self.settings)  # BudgetTooSmall before anything starts
        sock = bind_socket(self.host, self.port)
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            log.info(
                "serving on %s:%d with %s", self.host, self.port, plan.describe(),
                extra={"pid": os.getpid()},
            )  # fmt: skip
            self.workers = [self._start(sock) for _ in range(plan.workers)]
            return self._watch(sock)
        finally:
            self._stop_all()
            sock.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        self.stop_requested.set()

    def _start(self, sock: socket.socket) -> _Worker:
        process = _SPAWN.Process(
            target=_worker,
            args=(self.settings, self.host, self.port, sock, os.getpid()),
            name="gateway-worker",
        )
        process.start()
        log.info("worker started", extra={"worker_pid": process.pid})
        return _Worker(process, time.monotonic())

    def _watch(self, sock: socket.socket) -> int:
        quick_deaths = 0
        while not self.stop_requested.wait(0.5):
            for index, worker in enumerate(self.workers):
                code = worker.process.exitcode
                if code is None:
                    continue
                lived = time.monotonic() - worker.started
                log.error(
                    "worker exited unexpectedly",
                    extra={"worker_pid": worker.process.pid, "exit_code": code,
                           "lived_s": round(lived, 1)},
                )  # fmt: skip
                quick_deaths = quick_deaths + 1 if lived < MIN_LIFE_S else 0
                if quick_deaths >= MAX_QUICK_DEATHS:
                    log.critical(
                        "%d workers died within %g s of starting; stopping the gateway",
                        quick_deaths,
                        MIN_LIFE_S,
                    )
                    return 1
                self.workers[index] = self._start(sock)
        log.info("stop signal received; draining the workers")
        return 0

    def _stop_all(self) -> None:
        alive = [w.process for w in self.workers if w.process.is_alive()]
        for process in alive:
            process.terminate()  # SIGTERM: the worker's graceful shutdown
        deadline = time.monotonic() + self.settings.shutdown_timeout_s + _STOP_MARGIN_S
        for process in alive:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning("worker still running after the drain; killing it",
                            extra={"worker_pid": process.pid})  # fmt: skip
                process.kill()
                process.join()
