"""`python -m bench.keys` keeps working: two real gateways (key cache on and off), every answer
checked; its figures are printed, never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import BASE_URL

ROOT = Path(__file__).resolve().parents[2]


def test_key_cache_bench_runs_and_prints_its_figures() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.keys", "--requests", "20", "--database-url", BASE_URL],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    for figure in ("key cache on", "key cache off", "saving per request", "db.keys.find_key"):
        assert figure in proc.stdout, proc.stdout
