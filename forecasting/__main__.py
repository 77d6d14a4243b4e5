"""Command line: `python -m forecasting run [--once]` and `backtest` (docs/forecasting.md).

Exit codes: 0 done, 1 a target failed, 2 bad configuration or usage.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import httpx

from forecasting.backtest import format_scores
from forecasting.service import ForecastService
from forecasting.settings import Settings, load_settings
from sidecar.client import GatewayClient, GatewayRejected
from sidecar.settings import ConfigError


def _moment(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a UTC offset, e.g. {text}+01:00 or {text}Z")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="TOML configuration (default: built-in)")
    common.add_argument("--gateway-url", help="gateway GraphQL endpoint (env GATEWAY_URL)")
    common.add_argument(
        "--at",
        type=_moment,
        help="act as if it were this time (replaying history, e.g. the demo data); default: now",
    )
    parser = argparse.ArgumentParser(
        prog="python -m forecasting",
        description="Forecast site and market series and write the forecasts to the gateway.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", parents=[common], help="issue forecasts on a schedule")
    run.add_argument("--once", action="store_true", help="issue once and exit")
    commands.add_parser(
        "backtest", parents=[common], help="rolling-origin backtest: print and store scores"
    )
    return parser


async def _execute(args: argparse.Namespace, settings: Settings) -> int:
    async with httpx.AsyncClient() as http:
        service = ForecastService(GatewayClient(http, settings.gateway), settings)
        try:
            if args.command == "backtest":
                print(format_scores(await service.backtest_all(args.at)))
                return 0
            if args.once:
                issued = await service.issue_all(args.at)
                for item in issued:
                    state = item.error or f"{item.points} points, {len(item.models)} models"
                    print(f"{item.target}: {state}")
                return 1 if any(i.error for i in issued) else 0
        except GatewayRejected as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await service.run_forever(stop)
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    try:
        settings = load_settings(args.config, env=os.environ, gateway_url=args.gateway_url)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_execute(args, settings))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
