"""Command line: `python -m forecasting run [--once]` and `backtest` (docs/forecasting.md).

Exit codes: 0 done, 1 a target failed, 2 bad configuration or usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import httpx

from forecasting.backtest import format_scores
from forecasting.service import ForecastService
from forecasting.settings import Settings, load_settings
from sidecar.cli import common_options, moment, run_main
from sidecar.client import GatewayClient, GatewayRejected


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    common.add_argument(
        "--at",
        type=moment,
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
        await service.run_forever()
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(build_parser().parse_args(argv), load_settings, _execute)


if __name__ == "__main__":
    raise SystemExit(main())
