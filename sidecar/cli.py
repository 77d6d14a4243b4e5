"""What the sidecars' command lines share: common options, the entry point's error
handling, and the loop that repeats work until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import jsonlogs
from sidecar.settings import ConfigError

__all__ = ["common_options", "moment", "repeat_until_stopped", "run_main"]

S = TypeVar("S")


def moment(text: str) -> datetime:
    """An argparse type: an ISO 8601 instant with a UTC offset."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a UTC offset, e.g. {text}+01:00 or {text}Z")
    return value


def common_options() -> argparse.ArgumentParser:
    """--config and --gateway-url, given after the subcommand (as the SMARD scraper does)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="TOML configuration (default: built-in)")
    common.add_argument("--gateway-url", help="gateway GraphQL endpoint (env GATEWAY_URL)")
    return common


def run_main(
    args: argparse.Namespace,
    load_settings: Callable[..., S],
    execute: Callable[[argparse.Namespace, S], Coroutine[Any, Any, int]],
) -> int:
    """Log setup (the project's JSON lines), settings (exit 2 when bad), then the command;
    Ctrl+C exits 130."""
    jsonlogs.configure_logging()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    try:
        settings = load_settings(args.config, env=os.environ, gateway_url=args.gateway_url)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(execute(args, settings))
    except KeyboardInterrupt:
        return 130


async def repeat_until_stopped(
    work: Callable[[], Awaitable[Any]], every_seconds: float, log: logging.Logger
) -> None:
    """Run `work` every `every_seconds` until SIGTERM or SIGINT; a failed round is logged
    and the next one comes as planned. A round in progress finishes first."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    while not stop.is_set():
        try:
            await work()
        except Exception:
            log.exception("round failed; trying again")
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_seconds)
        except TimeoutError:
            pass
