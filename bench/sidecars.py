"""`python -m bench.sidecars`: performance of the scenario and forecasting sidecars (issue 14).

One year of 15-minute data for one site: SELF_CONSUMPTION (target < 1 s), COST_OPTIMAL over
the whole year as one linear program (< 60 s) and a 5 x 5 PV x battery sweep (< 30 s), each
next to the vectorised no-battery flows as the floor of any simulation. Then a 48-hour
forecast issue for 10 sources end to end through a real gateway (< 10 s), next to the raw
asyncpg read of the same history (the database floor), and the year's SELF_CONSUMPTION
scenario end to end through the scenario service. `--smoke` uses tiny sizes; its
numbers mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np
from sqlalchemy.engine import make_url

from bench.server import add_database_url, start_gateway
from db.migrate import apply_migrations
from forecasting.service import ForecastService
from forecasting.settings import Settings as ForecastSettings, TargetConfig
from scenarios.battery import Battery
from scenarios.greedy import self_consumption
from scenarios.optimal import cost_optimal
from scenarios.service import ScenarioService
from scenarios.settings import Settings as ScenarioSettings
from scenarios.sweep import SweepCosts, sweep
from sidecar.client import GatewayClient, rfc3339
from sidecar.settings import GatewaySettings
from sidecar.solar import PvSystem, clear_sky_kwh_per_kwp

START = datetime(2025, 1, 1, tzinfo=UTC)
UPSERT_SITE = (
    """mutation($input: SiteInput!) { upsertSite(input: $input) { userErrors { code } } }"""
)
UPSERT_SCENARIO = """mutation($input: ScenarioInput!) {
  upsertScenario(input: $input) { userErrors { code message } } }"""
STEP_MS = 900_000


def _timed(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time of `repeat` runs and the last result."""
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def year_of_data(steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    stamps = int(START.timestamp() * 1000) + np.arange(steps, dtype=np.int64) * STEP_MS
    clear = clear_sky_kwh_per_kwp(stamps, 900, PvSystem(latitude=52.5, longitude=13.4))
    days = -(-steps // 96)
    pv = 8 * clear * np.repeat(rng.uniform(0.15, 1.0, days), 96)[:steps]
    hour = (np.arange(steps) % 96) / 4
    load = 0.08 + 0.25 * np.exp(-(((hour - 19) / 2) ** 2)) + rng.gamma(1.5, 0.03, steps)
    spot = 60 + 40 * np.sin((hour - 13) / 24 * 2 * np.pi) + rng.normal(0, 15, steps)
    price = (spot / 10 + 17.85) * 1.19 / 100
    return stamps, pv, load, price


def simulation_rows(steps: int, repeat: int, grid: int) -> list[tuple[str, float, str]]:
    _, pv, load, price = year_of_data(steps)
    battery = Battery(
        capacity_kwh=10, power_kw=5, charge_efficiency=0.95, discharge_efficiency=0.95
    )
    floor, _ = _timed(lambda: self_consumption(pv, load, 0.25, None), repeat)
    greedy, flows = _timed(lambda: self_consumption(pv, load, 0.25, battery), repeat)
    lp, optimal = _timed(lambda: cost_optimal(pv, load, 0.25, battery, price, 0.08), 1)
    saving = flows.cost_eur(price, 0.08) - optimal.cost_eur(price, 0.08)
    sizes = [float(x) for x in np.linspace(0, 20, grid)]
    sweep_s, cells = _timed(
        lambda: sweep(
            pv_for=lambda kwp: pv * kwp / 8,
            load=load,
            step_hours=0.25,
            import_price=price,
            feed_in_price=0.08,
            today=self_consumption(pv, load, 0.25, None),
            current_kwp=8,
            pv_sizes=sizes,
            battery_sizes=sizes,
            costs=SweepCosts(),
        ),
        1,
    )
    return [
        ("no-battery flows, vectorised (floor)", floor, f"{steps} steps"),
        ("SELF_CONSUMPTION, 10 kWh / 5 kW", greedy, "target < 1 s"),
        ("COST_OPTIMAL, one LP over the period", lp, f"target < 60 s; saves {saving:.2f} EUR"),
        (f"sweep {grid} x {grid}", sweep_s, f"target < 30 s; {len(cells)} cells"),
    ]


async def scenario_row(gateway: GatewayClient, steps: int) -> tuple[str, float, str]:
    """A scenario of `steps` quarter-hours through the service: read the site's flows with
    the KPI code, simulate, write seven result series and the scenario site."""
    stamps, pv, load, _ = year_of_data(steps)
    for key, values in (("bench:site:pv", pv), ("bench:site:load", load)):
        await gateway.upsert_series(
            {"key": key, "kind": "ENERGY", "unit": "kWh", "resolution": "PT15M"}
        )
        await gateway.ingest(key, stamps, values)
    tariff = {"kind": "FIXED", "importPriceCt": 35, "feedInCt": 8}
    site = {"key": "bench-site", "pv": "bench:site:pv", "load": "bench:site:load",
            "pvPeakKw": 8, "tariff": tariff}  # fmt: skip
    await gateway.execute(UPSERT_SITE, {"input": site})
    end = START + timedelta(minutes=15 * steps)
    scenario = {"key": "bench", "site": "bench-site", "from": rfc3339(START), "to": rfc3339(end),
                "pvKwp": 12, "battery": {"capacityKwh": 10, "powerKw": 5}}  # fmt: skip
    result = (await gateway.execute(UPSERT_SCENARIO, {"input": scenario}))["upsertScenario"]
    assert result["userErrors"] == [], result
    service = ScenarioService(gateway, ScenarioSettings())
    began = time.perf_counter()
    outcomes = await service.run_pending()
    seconds = time.perf_counter() - began
    assert [o.status for o in outcomes] == ["DONE"], outcomes
    return ("SELF_CONSUMPTION scenario end to end", seconds, "read, simulate, write 7 series")


async def gateway_rows(
    database_url: str, sources: int, weeks: int, year_steps: int
) -> list[tuple[str, float, str]]:
    admin = await asyncpg.connect(database_url)
    name = f"bench_sidecars_{secrets.token_hex(3)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    log = Path(tempfile.gettempdir()) / f"{name}.log"
    try:
        await apply_migrations(url)
        gateway_process = start_gateway(url, log)
        try:
            async with httpx.AsyncClient(timeout=120) as http:
                gateway = GatewayClient(http, GatewaySettings(url=gateway_process.url))
                steps = weeks * 7 * 96
                end = START + timedelta(weeks=weeks)
                _, _, load, _ = year_of_data(steps)
                stamps = int(START.timestamp() * 1000) + np.arange(steps, dtype=np.int64) * STEP_MS
                targets = []
                for i in range(sources):
                    key = f"bench:load:{i}"
                    await gateway.upsert_series(
                        {
                            "key": key,
                            "kind": "ENERGY",
                            "unit": "kWh",
                            "resolution": "PT15M",
                            "timezone": "Europe/Berlin",
                        }  # fmt: skip
                    )
                    await gateway.ingest(key, stamps, load * (1 + i / 10))
                    targets.append(TargetConfig(series=key, role="load"))
                settings = ForecastSettings(
                    discover=False, targets=targets, history_weeks=min(weeks, 8)
                )
                service = ForecastService(gateway, settings)
                began = time.perf_counter()
                issued = await service.issue_all(now=end)
                issue_s = time.perf_counter() - began
                assert all(i.error is None for i in issued), issued
                scenario = await scenario_row(gateway, year_steps)
            conn = await asyncpg.connect(url)
            try:
                began = time.perf_counter()
                for i in range(sources):
                    await conn.fetch(
                        "SELECT ts, value FROM samples JOIN series s ON s.id = series_id "
                        "WHERE s.key = $1 AND ts >= $2 AND ts < $3 ORDER BY ts",
                        f"bench:load:{i}", end - timedelta(weeks=min(weeks, 8)), end,
                    )  # fmt: skip
                raw_s = time.perf_counter() - began
            finally:
                await conn.close()
        finally:
            gateway_process.stop()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    models = len(issued[0].models)
    return [
        (f"raw read of {sources} histories (asyncpg, floor)", raw_s, f"{weeks} weeks each"),
        (
            f"48 h forecast issue, {sources} sources",
            issue_s,
            f"target < 10 s; {models} models each, written through the gateway",
        ),
        scenario,
    ]


def render(rows: list[tuple[str, float, str]]) -> str:
    lines = ["| measurement | seconds | note |", "|---|---:|---|"]
    lines += [f"| {what} | {seconds:.3f} | {note} |" for what, seconds, note in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sidecars", description=__doc__)
    add_database_url(parser)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, correctness only")
    args = parser.parse_args(argv)
    steps, repeat, grid, sources, weeks = (
        (2 * 96, 1, 2, 2, 2) if args.smoke else (365 * 96, 3, 5, 10, 8)
    )
    rows = simulation_rows(steps, repeat, grid)
    rows += asyncio.run(gateway_rows(args.database_url, sources, weeks, steps))
    print(render(rows))


if __name__ == "__main__":
    main()
