"""`python -m bench.frontend --runs 1` keeps working: scratch database with the demo data, a
real gateway, Chromium painting the site view; it prints its figures (never asserted)."""

from __future__ import annotations

import re

from tests.bench.run import run_bench
from tests.frontend.test_browser import _node


def test_frontend_bench_runs_and_prints_its_figures() -> None:
    _node()  # skips (or fails in CI) without the build, node_modules or Chromium
    out = run_bench("bench.frontend", "--runs", "1")
    for figure in (
        "time to chart drawn, ms",
        "gzipped (target < 250 kB)",
        "40,380 buckets",
        "Baseline: the site KPI query",
    ):
        assert figure in out, out
    # Sites and SiteKpis before the first paint; the forecast overlay's request is sent after
    # it and may or may not be counted by the time the bench looks.
    assert re.search(r"GraphQL requests +[23] ", out), out
