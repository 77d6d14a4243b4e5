"""`python -m bench.fairness --smoke` keeps working: two real gateways (limits off, defaults),
two keys, full-budget clients against small queries. Timings are printed, never asserted."""

from __future__ import annotations

from tests.bench.run import run_bench


def test_fairness_smoke_run_prints_both_configurations() -> None:
    out = run_bench("bench.fairness", "--smoke")
    print(out)
    for phase in (
        "raw asyncpg, small query alone",
        "limits off: small queries alone",
        "limits off: under 2 full-budget clients",
        "defaults: small queries alone",
        "defaults: under 2 full-budget clients",
    ):
        assert f"| {phase} |" in out, phase
