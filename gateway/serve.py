"""Run the gateway under uvicorn with JSON logs and a graceful, bounded shutdown.

On SIGTERM/SIGINT uvicorn stops accepting connections, lets in-flight requests finish for up
to `shutdown_timeout_s`, then runs the lifespan shutdown (which disposes of the pool). The
server subclass marks the app as draining the moment the signal arrives, so `/readyz` answers
503 on any connection still open. Connections get a header deadline and size cap
(`gateway.protocol`), a short keep-alive, and a socket limit far above the app's own limit
on /graphql requests (docs/limits.md).
"""

from __future__ import annotations

import os
import socket
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.collector import tune_collector
from gateway.health import Lifecycle
from gateway.logs import configure_logging
from gateway.metrics import GatewayMetrics
from gateway.protocol import guarded_protocol
from gateway.settings import Settings

__all__ = ["GatewayServer", "server_config", "serve"]


class GatewayServer(uvicorn.Server):
    def __init__(
        self, config: uvicorn.Config, lifecycle: Lifecycle, supervisor_pid: int | None = None
    ) -> None:
        super().__init__(config)
        self.lifecycle = lifecycle
        self.supervisor_pid = supervisor_pid

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.lifecycle.draining = True
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        # A worker whose supervisor died (SIGKILL, OOM) shuts down gracefully instead of
        # holding the port as an orphan nobody restarts or stops.
        if self.supervisor_pid is not None and os.getppid() != self.supervisor_pid:
            self.lifecycle.draining = True
            self.should_exit = True
        return await super().on_tick(counter)


def server_config(settings: Settings, app: Starlette, host: str, port: int) -> uvicorn.Config:
    metrics: GatewayMetrics = app.state.metrics
    protocol = guarded_protocol(
        settings.header_timeout_s,
        settings.max_header_bytes,
        lambda reason: metrics.refused.labels(reason).inc(),
    )
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol,
        timeout_keep_alive=settings.keep_alive_timeout_s,
        log_config=None,  # keep the JSON handler configured above
        access_log=False,  # the gateway writes its own access line with request id and key id
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=max(1, round(settings.shutdown_timeout_s)),
        limit_concurrency=settings.max_concurrency,
    )


def serve(
    settings: Settings,
    host: str,
    port: int,
    sock: socket.socket | None = None,
    supervisor_pid: int | None = None,
) -> None:
    """One process serving until SIGTERM/SIGINT: on `host:port`, or on `sock` as a worker."""
    configure_logging(settings.log_level)
    app = create_app(settings)
    tune_collector()
    config = server_config(settings, app, host, port)
    server = GatewayServer(config, app.state.lifecycle, supervisor_pid)
    server.run(sockets=None if sock is None else [sock])
