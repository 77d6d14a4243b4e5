"""JSON logs: one object per line on stderr, for the gateway's own and uvicorn's loggers.

The line format is shared with the sidecars (the `jsonlogs` package); the gateway adds
`request_id` (null outside a request) to every line. The request id is bound in a context
variable by the request middleware, so any log call made while serving a request carries it.
Tracebacks go into `exception`, never to clients.
"""

from __future__ import annotations

import logging
from typing import TextIO

from structlog.typing import EventDict, WrappedLogger

import jsonlogs

__all__ = ["configure_logging", "json_formatter"]


def _request_id_key(logger: WrappedLogger, name: str, event: EventDict) -> EventDict:
    event.setdefault("request_id", None)
    event.pop("color_message", None)  # uvicorn's ANSI-coloured duplicate of the message
    return event


def json_formatter() -> logging.Formatter:
    return jsonlogs.json_formatter(_request_id_key)


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Route the root logger (and uvicorn's) to one JSON handler."""
    jsonlogs.configure_logging(level, stream, json_formatter())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
