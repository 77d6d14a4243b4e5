"""`python -m bench.sidecars --smoke` keeps working (real gateway, tiny sizes); timings are
printed, never asserted."""

from __future__ import annotations

from tests.bench.run import run_bench


def test_sidecar_bench_smoke_prints_every_measurement() -> None:
    out = run_bench("bench.sidecars", "--smoke")
    for line in (
        "SELF_CONSUMPTION",
        "COST_OPTIMAL",
        "sweep 2 x 2",
        "48 h forecast issue",
        "scenario end to end",
    ):
        assert line in out, out
