"""`python -m bench.frontend --runs 1` keeps working: scratch database with the demo data, a
real gateway, Chromium painting the site view; it prints its figures (never asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import BASE_URL
from tests.frontend.test_browser import FRONTEND, _node

ROOT = FRONTEND.parent


def test_frontend_bench_runs_and_prints_its_figures() -> None:
    _node()  # skips (or fails in CI) without the build, node_modules or Chromium
    proc = subprocess.run(
        [sys.executable, "-m", "bench.frontend", "--runs", "1", "--database-url", BASE_URL],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    for figure in (
        "time to chart drawn, ms",
        "gzipped (target < 250 kB)",
        "40,380 buckets",
        "Baseline: the site KPI query",
    ):
        assert figure in proc.stdout, proc.stdout
    # Sites and SiteKpis before the first paint; the forecast overlay's request is sent after
    # it and may or may not be counted by the time the bench looks.
    assert re.search(r"GraphQL requests +[23] ", proc.stdout), proc.stdout
