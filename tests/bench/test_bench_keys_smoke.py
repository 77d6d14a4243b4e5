"""`python -m bench.keys` keeps working: two real gateways (key cache on and off), every answer
checked; its figures are printed, never asserted."""

from __future__ import annotations

from tests.bench.run import run_bench


def test_key_cache_bench_runs_and_prints_its_figures() -> None:
    out = run_bench("bench.keys", "--requests", "20")
    for figure in ("key cache on", "key cache off", "saving per request", "db.keys.find_key"):
        assert figure in out, out
