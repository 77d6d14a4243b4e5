"""`python -m bench.fairness --smoke` keeps working: two real gateways (limits off, defaults),
two keys, full-budget clients against small queries. Timings are printed, never asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import BASE_URL

ROOT = Path(__file__).resolve().parents[2]


def test_fairness_smoke_run_prints_both_configurations() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.fairness", "--smoke", "--database-url", BASE_URL],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    print(proc.stdout)
    for phase in (
        "raw asyncpg, small query alone",
        "limits off: small queries alone",
        "limits off: under 2 full-budget clients",
        "defaults: small queries alone",
        "defaults: under 2 full-budget clients",
    ):
        assert f"| {phase} |" in proc.stdout, phase
