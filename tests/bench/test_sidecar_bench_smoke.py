"""`python -m bench.sidecars --smoke` keeps working (real gateway, tiny sizes); timings are
printed, never asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import BASE_URL

ROOT = Path(__file__).resolve().parents[2]


def test_sidecar_bench_smoke_prints_every_measurement() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.sidecars", "--smoke", "--database-url", BASE_URL],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for line in (
        "SELF_CONSUMPTION",
        "COST_OPTIMAL",
        "sweep 2 x 2",
        "48 h forecast issue",
        "scenario end to end",
    ):
        assert line in proc.stdout, proc.stdout
