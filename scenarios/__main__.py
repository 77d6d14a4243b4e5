"""Command line: `python -m scenarios run [--once]` and `sweep` (docs/scenarios.md).

Exit codes: 0 done, 1 a scenario failed (run --once) or the sweep could not run, 2 bad
configuration or usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import httpx

from scenarios.greedy import self_consumption
from scenarios.inputs import SITE, NoData, read_flows, scaled_pv, tariff_prices
from scenarios.service import ScenarioService
from scenarios.settings import Settings, load_settings
from scenarios.sweep import SweepCosts, format_table, sweep
from sidecar.cli import common_options, moment, run_main
from sidecar.client import GatewayClient, GatewayRejected, rfc3339

UPSERT_SWEEP = """mutation StoreSweep($input: SweepInput!) {
  upsertSweep(input: $input) { sweep { key } userErrors { code message } } }"""


def _sizes(text: str) -> list[float]:
    try:
        sizes = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of numbers: {text!r}"
        ) from None
    if not sizes or any(not s >= 0 for s in sizes):
        raise argparse.ArgumentTypeError("sizes are numbers >= 0")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="python -m scenarios",
        description="Compute what-if scenarios stored in the gateway and write their results.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", parents=[common], help="compute scenarios as they come")
    run.add_argument("--once", action="store_true", help="compute what is pending, then exit")
    sw = commands.add_parser("sweep", parents=[common], help="PV x battery sizing sweep")
    sw.add_argument("--site", required=True)
    sw.add_argument("--from", dest="start", type=moment, required=True)
    sw.add_argument("--to", dest="end", type=moment, required=True)
    sw.add_argument("--pv", type=_sizes, default=[0, 5, 10, 15, 20], help="kWp list")
    sw.add_argument("--battery", type=_sizes, default=[0, 5, 10, 15, 20], help="kWh list")
    sw.add_argument("--cost-per-kwp", type=float, default=SweepCosts.per_kwp_eur)
    sw.add_argument("--cost-per-kwh", type=float, default=SweepCosts.per_kwh_eur)
    sw.add_argument("--c-rate", type=float, default=SweepCosts.c_rate, help="kW per kWh")
    sw.add_argument("--key", help="store the result as this sweep (default: sweep:<site>)")
    return parser


async def _run(args: argparse.Namespace, gateway: GatewayClient, settings: Settings) -> int:
    service = ScenarioService(gateway, settings)
    if args.once:
        outcomes = await service.run_pending()
        for outcome in outcomes:
            print(
                f"{outcome.key}: {outcome.status}"
                + (f" ({outcome.message})" if outcome.message else "")
            )
        return 1 if any(o.status == "FAILED" for o in outcomes) else 0
    await service.run_forever()
    return 0


async def _sweep(args: argparse.Namespace, gateway: GatewayClient, settings: Settings) -> int:
    site = (await gateway.execute(SITE, {"key": args.site}))["site"]
    if site is None:
        print(f"error: no site {args.site!r}", file=sys.stderr)
        return 1
    flows = await read_flows(
        gateway, site, args.start, args.end, min_coverage=settings.min_coverage
    )
    price, feed_in = await tariff_prices(gateway, site["tariff"], flows)
    hours = flows.step_seconds / 3600
    cells = sweep(
        pv_for=lambda kwp: scaled_pv(site, flows, kwp, settings.clearness),
        load=flows.load,
        step_hours=hours,
        import_price=price,
        feed_in_price=feed_in,
        today=self_consumption(flows.pv, flows.load, hours, None),
        current_kwp=float(site["pvPeakKw"] or 0.0) if site["pv"] else 0.0,
        pv_sizes=args.pv,
        battery_sizes=args.battery,
        costs=SweepCosts(
            per_kwp_eur=args.cost_per_kwp, per_kwh_eur=args.cost_per_kwh, c_rate=args.c_rate
        ),
    )
    print(format_table(cells))
    key = args.key or f"sweep:{args.site}"
    value = {
        "key": key,
        "site": args.site,
        "from": rfc3339(args.start),
        "to": rfc3339(args.end),
        "cells": [c.as_input() for c in cells],
    }
    result = (await gateway.execute(UPSERT_SWEEP, {"input": value}))["upsertSweep"]
    if result["userErrors"]:
        print(f"error: the gateway refused the sweep: {result['userErrors']}", file=sys.stderr)
        return 1
    print(f"stored as sweep {key!r}")
    return 0


async def _execute(args: argparse.Namespace, settings: Settings) -> int:
    async with httpx.AsyncClient() as http:
        gateway = GatewayClient(http, settings.gateway)
        try:
            if args.command == "sweep":
                return await _sweep(args, gateway, settings)
            return await _run(args, gateway, settings)
        except (NoData, GatewayRejected) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(build_parser().parse_args(argv), load_settings, _execute)


if __name__ == "__main__":
    raise SystemExit(main())
