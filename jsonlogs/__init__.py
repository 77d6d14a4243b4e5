"""JSON log lines for the gateway and its sidecars: one object per line, the same shape everywhere.

Every line has `ts` (UTC, ISO 8601), `level`, `logger` and `event`, plus the fields a call passes
with `extra=` and those bound in structlog's context variables; a traceback goes into
`exception`. structlog's ProcessorFormatter renders the standard library's records, so
third-party loggers (uvicorn, httpx, stamina) come out in the same shape as our own.

This package imports nothing of the project, so the gateway and the sidecars (which must not
import the gateway) share it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import Processor

__all__ = ["configure_logging", "json_formatter"]


def _dumps(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


def json_formatter(*processors: Processor) -> logging.Formatter:
    """A formatter that renders each record as one JSON object; `processors` run just before
    rendering (a caller's own keys, e.g. the gateway's request id)."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
    ]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *processors,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ],
    )


def configure_logging(
    level: str | int = "INFO",
    stream: TextIO | None = None,
    formatter: logging.Formatter | None = None,
) -> logging.Handler:
    """Route the root logger to one handler writing JSON lines (stderr by default)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter or json_formatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return handler
