"""Command line: `python -m scrapers.smard run [--once]` and `backfill --from DATE [--to DATE]`.

Exit codes: 0 all series synced, 1 at least one series failed, 2 bad configuration or usage.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from scrapers.smard.client import SmardClient
from scrapers.smard.errors import ConfigError
from scrapers.smard.logs import LOGGER_NAME, configure_logging
from scrapers.smard.publish import GatewayClient
from scrapers.smard.schedule import run_forever
from scrapers.smard.settings import Settings, load_settings
from scrapers.smard.sync import BERLIN, RunSummary, Syncer

_log = logging.getLogger(LOGGER_NAME)


ENVIRONMENT_HELP = """\
environment (override the --config file; --base-url and --gateway-url override both):
  GATEWAY_URL     the gateway's GraphQL endpoint, e.g. http://127.0.0.1:8000/graphql
  GATEWAY_TOKEN   an API key with the `ingest` scope
  SMARD_BASE_URL  SMARD's chart_data root (default https://www.smard.de/app)
  SMARD_<SECTION>__<KEY>  any other setting, e.g. SMARD_HTTP__REQUESTS_PER_SECOND=2,
                  SMARD_RETRY__TIMEOUT_SECONDS=600 (sections and keys: docs/scraper.md)

dates are YYYY-MM-DD, local days in Europe/Berlin (the days SMARD publishes).
exit codes: 0 all series synced, 1 at least one series failed, 2 bad configuration or usage.
"""


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="TOML configuration (default: built-in)")
    common.add_argument("--base-url", help="SMARD base URL (env SMARD_BASE_URL)")
    common.add_argument("--gateway-url", help="gateway GraphQL endpoint (env GATEWAY_URL)")
    layout: dict[str, Any] = {
        "epilog": ENVIRONMENT_HELP,
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }

    parser = argparse.ArgumentParser(
        prog="python -m scrapers.smard",
        description="Fetch SMARD market data and push it to the gateway's GraphQL API.",
        **layout,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", parents=[common], help="sync on the schedule", **layout)
    run.add_argument("--once", action="store_true", help="sync once and exit")
    backfill = commands.add_parser(
        "backfill", parents=[common], help="load all chunks overlapping a range of days", **layout
    )
    backfill.add_argument(
        "--from",
        dest="first_day",
        type=_day,
        required=True,
        metavar="YYYY-MM-DD",
        help="first day (Europe/Berlin)",
    )
    backfill.add_argument(
        "--to",
        dest="last_day",
        type=_day,
        metavar="YYYY-MM-DD",
        help="last day, inclusive (default: today)",
    )
    return parser


async def _execute(args: argparse.Namespace, settings: Settings) -> int:
    smard_limits = httpx.Limits(max_connections=settings.http.concurrency)
    async with (
        httpx.AsyncClient(limits=smard_limits, follow_redirects=True) as smard_http,
        httpx.AsyncClient() as gateway_http,
    ):
        smard = SmardClient(
            smard_http, base_url=settings.base_url, settings=settings.http, retry=settings.retry
        )
        gateway = GatewayClient(gateway_http, settings=settings.gateway)
        syncer = Syncer(settings, smard, gateway)
        if args.command == "backfill":
            last_day = args.last_day or datetime.now(BERLIN).date()
            if last_day < args.first_day:
                print("error: --to is before --from", file=sys.stderr)
                return 2
            with progress("backfill") as (on_total, on_chunk):
                summary = await syncer.backfill(
                    args.first_day, last_day, on_total=on_total, on_chunk=on_chunk
                )
            return _report(summary)
        if args.once:
            with progress("sync") as (on_total, on_chunk):
                summary = await syncer.run_once(on_total=on_total, on_chunk=on_chunk)
            return _report(summary)
        await _loop(syncer, settings)
        return 0


@contextmanager
def progress(label: str) -> Iterator[tuple[Callable[[int], None], Callable[[], None]]]:
    """A chunk progress bar on stderr when it is a terminal (tqdm's disable=None), with log
    lines printed above it instead of through it."""
    with (
        tqdm(unit="chunk", desc=label, file=sys.stderr, disable=None, dynamic_ncols=True) as bar,
        logging_redirect_tqdm(tqdm_class=tqdm),
    ):

        def set_total(total: int) -> None:
            bar.reset(total=total)  # the bar starts before the plan exists

        def advance() -> None:
            bar.update(1)

        yield set_total, advance


def _report(summary: RunSummary) -> int:
    print(summary.describe())
    for report in summary.reports:
        if report.outcome != "ok":
            print(f"  {report.key}: {report.outcome}: {report.error}")
    return 1 if summary.errors else 0


async def _loop(syncer: Syncer, settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def once() -> None:
        summary = await syncer.run_once()
        _log.info(
            "run finished",
            extra={
                "chunks": summary.chunks,
                "rows": summary.rows,
                "errors": summary.errors,
                "smard_requests": summary.smard_requests,
                "smard_throttled": summary.smard_throttled,
                "duration_s": round(summary.duration_s, 3),
            },
        )

    await run_forever(once, settings.schedule, stop, random.Random())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    try:
        settings = load_settings(
            args.config, env=os.environ, base_url=args.base_url, gateway_url=args.gateway_url
        )
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_execute(args, settings))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
