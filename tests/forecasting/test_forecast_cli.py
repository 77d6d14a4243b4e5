"""`python -m forecasting` as a process against the real gateway."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sidecar.client import GatewayClient
from tests.conftest import Gql, LiveGateway
from tests.forecasting.test_forecast_service import gateway, make_forecastable_site
from tests.scenarios.test_scenario_api import unique

ROOT = Path(__file__).resolve().parents[2]
__all__ = ["gateway"]  # the fixture, re-used


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return subprocess.run(
        [sys.executable, "-m", "forecasting", *args],
        cwd=ROOT,
        env={**clean, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=180,
    )


async def test_run_once_and_backtest(
    gateway: GatewayClient, gql: Gql, live_gateway: LiveGateway, tmp_path: Path
) -> None:
    site, end = await make_forecastable_site(gateway, gql)
    config = tmp_path / "forecasting.toml"
    config.write_text(
        f"discover = false\nhistory_weeks = 2\nbacktest_weeks = 1\n"
        f'[[targets]]\nseries = "{site}:load"\nrole = "load"\n'
        f'models = ["seasonal_weekly", "gbm"]\n'
    )
    at = end.isoformat()
    issued = cli("run", "--once", "--gateway-url", live_gateway.url, "--config", str(config),
                 "--at", at)  # fmt: skip
    assert issued.returncode == 0, issued.stdout + issued.stderr
    assert f"{site}:load: " in issued.stdout and "2 models" in issued.stdout
    scored = cli("backtest", "--gateway-url", live_gateway.url, "--config", str(config),
                 "--at", at)  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    assert "MASE" in scored.stdout and "gbm" in scored.stdout


def test_unknown_model_is_a_configuration_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(f'[[targets]]\nseries = "{unique("x")}"\nmodels = ["prophet"]\n')
    result = cli("backtest", "--config", str(config))
    assert result.returncode == 2 and "unknown model 'prophet'" in result.stderr
