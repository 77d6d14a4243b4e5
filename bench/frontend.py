"""`python -m bench.frontend`: first render of the dashboard's site view (docs/frontend.md).

Creates a scratch database, loads the demo data, starts the gateway (`python -m gateway
serve`, development mode), then runs frontend/e2e/bench.mjs: Debian's Chromium with a cold
profile per run opens the demo site's week and waits until the energy chart has painted.
Prints the time to the chart, the GraphQL requests and bytes, the dashboard's JavaScript
(gzipped), and as the baseline the same KPI query sent straight to the API in the same run.
Needs `scripts/frontend` (build and node_modules) and /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.scratch import create_scratch_database, drop_database
from bench.server import add_database_url, start_gateway
from db.engine import Database
from devtools.demo import load_demo
from gateway.schema import served_schema
from gateway.settings import Settings

FRONTEND = Path(__file__).resolve().parents[1] / "frontend"
WEEK = {"from": "2025-10-20T00:00:00+02:00", "to": "2025-10-27T00:00:00+01:00"}
# The dashboard's own site query (frontend/src/graphql/operations.graphql, SiteKpis).
KPI_QUERY = """query($from: DateTime!, $to: DateTime!) { site(key: "demo") {
  key name timezone kpis(from: $from, to: $to, every: "P1D") {
    timezone every
    buckets { start end production consumption gridImport gridExport batteryCharge
      batteryDischarge selfConsumption selfSupply selfConsumptionRate autarky importCost
      feedInRevenue savings co2Import coverage priceCoverage intensityCoverage }
    total { production consumption gridImport gridExport selfConsumptionRate autarky
      importCost feedInRevenue savings co2Import coverage priceCoverage intensityCoverage }
    warnings { code level message quantity bucket value } } } }"""


def _api_baseline_ms(url: str, runs: int) -> list[float]:
    times = []
    with httpx.Client(timeout=30) as client:
        for _ in range(runs):
            started = time.perf_counter()
            response = client.post(url, json={"query": KPI_QUERY, "variables": WEEK})
            response.raise_for_status()
            assert "errors" not in response.json(), response.text
            times.append((time.perf_counter() - started) * 1000)
    return times


async def _scratch_database(server: str) -> str:
    url = await create_scratch_database(server, "bench_frontend")
    settings = Settings(env="dev")
    database = Database(url)
    try:
        await database.start()
        await load_demo(served_schema(settings), database)
    finally:
        await database.dispose()
    return url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.frontend", description=__doc__)
    add_database_url(parser)
    parser.add_argument("--runs", type=int, default=5, help="cold page loads (default 5)")
    args = parser.parse_args(argv)

    url = asyncio.run(_scratch_database(args.database_url))
    with tempfile.TemporaryDirectory() as tmp:
        gateway = start_gateway(url, Path(tmp) / "gateway.log")
        try:
            base = gateway.url.removesuffix("/graphql")
            api_ms = _api_baseline_ms(gateway.url, args.runs)
            run = subprocess.run(
                ["node", "e2e/bench.mjs"],
                cwd=FRONTEND,
                env={**os.environ, "BASE_URL": base, "RUNS": str(args.runs)},
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        finally:
            gateway.stop()
            asyncio.run(drop_database(args.database_url, url))
    if run.returncode != 0:
        raise SystemExit(f"browser run failed:\n{run.stdout}\n{run.stderr}")
    result = json.loads(run.stdout.strip().splitlines()[-1])
    first = result["runs"][0]
    print("Site view first render (demo site, week 2025-10-20, cold browser profile per run)")
    print(f"  runs                        {len(result['runs'])}")
    drawn = ", ".join(f"{r['drawnMs']:.0f}" for r in result["runs"])
    print(f"  time to chart drawn, ms     median {result['medianDrawnMs']:.0f} ({drawn})")
    print(f"  GraphQL requests            {first['graphqlRequests']} (target <= 3)")
    print(f"  GraphQL response bytes      {first['graphqlBytes']:,}")
    print(f"  all requests / bytes        {first['requests']} / {first['bytes']:,} (transferred)")
    print(
        f"  dashboard JavaScript        {result['jsBytes']:,} B, "
        f"{result['jsGzipBytes']:,} B gzipped (target < 250 kB)"
    )
    big = result["bigSeries"]
    print(
        f"Series explorer, {big['points']:,} buckets (4 weeks at PT1M): "
        f"chart drawn after {big['drawnMs']:.0f} ms (cold load, one run)"
    )
    print(
        f"Baseline: the site KPI query straight to the API, ms  "
        f"median {statistics.median(api_ms):.0f} ({', '.join(f'{t:.0f}' for t in api_ms)})"
    )


if __name__ == "__main__":
    main()
