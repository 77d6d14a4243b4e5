"""JSON logs: one object per line on stderr, for the gateway's own and uvicorn's loggers.

Every line has `ts`, `level`, `logger`, `event` and `request_id` (null outside a request).
The request id is bound in a context variable by the request middleware, so any log call made
while serving a request carries it. Tracebacks go into `exception`, never to clients.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import EventDict, WrappedLogger

__all__ = ["configure_logging", "json_formatter"]


def _request_id_key(logger: WrappedLogger, name: str, event: EventDict) -> EventDict:
    event.setdefault("request_id", None)
    event.pop("color_message", None)  # uvicorn's ANSI-coloured duplicate of the message
    return event


def _dumps(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


def json_formatter() -> logging.Formatter:
    shared: list[Any] = [
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
            _request_id_key,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ],
    )


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Route the root logger (and uvicorn's) to one JSON handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
