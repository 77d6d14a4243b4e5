"""The scraper's logs: the project's JSON lines (jsonlogs), one object per line on stderr.

Fields go in with `extra={...}` and come out as top-level keys of the line.
"""

from __future__ import annotations

import logging

from stamina.instrumentation import LoggingOnRetryHook, set_on_retry_hooks

import jsonlogs

LOGGER_NAME = "scrapers.smard"


def configure_logging(level: int = logging.INFO) -> None:
    jsonlogs.configure_logging(level)
    # httpx logs every request at INFO; one line per series is the contract.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Retries go through the standard library too, so they come out as JSON lines.
    set_on_retry_hooks([LoggingOnRetryHook])
