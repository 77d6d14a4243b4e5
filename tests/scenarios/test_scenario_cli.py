"""`python -m scenarios` as a process against the real gateway: `run --once` with
`--gateway-url` after the subcommand, `sweep` printing and storing its table, bad
configuration exiting 2."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from sidecar.client import GatewayClient
from tests.conftest import Gql, LiveGateway
from tests.scenarios.test_scenario_api import UPSERT, make_site, scenario, unique
from tests.scenarios.test_scenario_service import PERIOD, gateway, write_site_data

ROOT = Path(__file__).resolve().parents[2]
__all__ = ["gateway"]  # the fixture, re-used


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return subprocess.run(
        [sys.executable, "-m", "scenarios", *args],
        cwd=ROOT,
        env={**clean, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_run_once_and_sweep(
    gateway: GatewayClient, gql: Gql, live_gateway: LiveGateway
) -> None:
    site = unique("cli")
    await make_site(gql, site, pvPeakKw=6)
    await write_site_data(gateway, site)
    key = unique("cli")
    battery = {"capacityKwh": 5, "powerKw": 2.5}
    await gql(UPSERT, {"input": {**scenario(key, site, battery=battery), **PERIOD}})

    done = cli("run", "--once", "--gateway-url", live_gateway.url)
    assert f"{key}: DONE" in done.stdout, done.stdout + done.stderr

    swept = cli(
        "sweep", "--site", site, "--from", PERIOD["from"], "--to", PERIOD["to"],
        "--pv", "0,6,12", "--battery", "0,5", "--key", f"sweep:{key}",
        env={"GATEWAY_URL": live_gateway.url},
    )  # fmt: skip
    assert swept.returncode == 0, swept.stderr
    assert "Autarky" in swept.stdout and f"stored as sweep 'sweep:{key}'" in swept.stdout
    body = await gql(
        """query($k: String!) { sweep(key: $k) { site cells { pvKwp batteryKwh autarky
             selfConsumptionRate yearlySavingsEur investmentEur paybackYears } } }""",
        {"k": f"sweep:{key}"},
    )
    cells = body["data"]["sweep"]["cells"]
    assert len(cells) == 6
    by_size = {(c["pvKwp"], c["batteryKwh"]): c for c in cells}
    today = by_size[(6.0, 0.0)]
    assert abs(today["yearlySavingsEur"]) < 1e-6 and today["investmentEur"] == 0
    assert by_size[(6.0, 5.0)]["autarky"] > today["autarky"]
    assert by_size[(12.0, 5.0)]["investmentEur"] == 6 * 1300 + 5 * 700


def test_bad_configuration_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("poll_seconds = -1\n")
    result = cli("run", "--once", "--config", str(config))
    assert result.returncode == 2 and "poll_seconds" in result.stderr
    result = cli("run", "--once", env={"GATEWAY_URL": "ftp://nowhere"})
    assert result.returncode == 2 and "http(s) URL" in result.stderr


async def test_run_keeps_polling_until_sigterm(
    gateway: GatewayClient, gql: Gql, live_gateway: LiveGateway, tmp_path: Path
) -> None:
    config = tmp_path / "scenarios.toml"
    config.write_text('poll_seconds = 0.2\nworker = "loop-test"\n')
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scenarios", "run", "--config", str(config),
        "--gateway-url", live_gateway.url,
        cwd=ROOT,
        env={**clean, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        site = unique("loop")
        await make_site(gql, site, pvPeakKw=6)
        await write_site_data(gateway, site)
        key = unique("loop")
        # Created after the service started: it is picked up by a later poll.
        await gql(UPSERT, {"input": {**scenario(key, site), **PERIOD}})
        status = None
        for _ in range(300):
            body = await gql("""query($k: String!) { scenario(key: $k) { status } }""", {"k": key})
            status = body["data"]["scenario"]["status"]
            if status in {"DONE", "FAILED"}:
                break
            await asyncio.sleep(0.1)
        assert status == "DONE"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()[-2000:]
