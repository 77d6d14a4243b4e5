"""One JSON object per log line, so runs can be grepped and shipped without parsing prose."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from stamina.instrumentation import LoggingOnRetryHook, set_on_retry_hooks

LOGGER_NAME = "scrapers.smard"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        # stamina's retry log puts its details into dotted extra attributes.
        line.update({k: v for k, v in vars(record).items() if k.startswith("stamina.")})
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request at INFO; one line per series is the contract.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Retries go through the standard library too, so they come out as JSON lines.
    set_on_retry_hooks([LoggingOnRetryHook])
