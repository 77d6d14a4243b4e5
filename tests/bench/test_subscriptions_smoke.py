"""`python -m bench.subscriptions --smoke` keeps working: a real gateway, 20 WebSocket
subscribers, every message arrives once and in sequence. Timings are printed, never asserted."""

from __future__ import annotations

from tests.bench.run import run_bench


def test_subscriptions_smoke_run_loses_and_duplicates_nothing() -> None:
    out = run_bench("bench.subscriptions", "--smoke")
    print(out)
    assert "| ingest response -> subscriber message (ms) |" in out
    assert "| messages expected / received | 200 / 200 |" in out
    assert "| lost | 0 |" in out and "| duplicated | 0 |" in out
    assert "sequence check: PASS" in out
