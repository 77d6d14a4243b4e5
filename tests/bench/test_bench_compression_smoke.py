"""`python -m bench.compression` keeps working: a real gateway's responses, each coding's size
and CPU time; its figures are printed, never asserted."""

from __future__ import annotations

from tests.bench.run import run_bench


def test_compression_bench_runs_and_prints_its_figures() -> None:
    out = run_bench("bench.compression", "--repeat", "2")
    for figure in ("1,000 raw samples", "week of hourly buckets", "zstd 1 (used)", "gzip 6",
                   "through the gateway", "asyncpg fetch"):  # fmt: skip
        assert figure in out, out
