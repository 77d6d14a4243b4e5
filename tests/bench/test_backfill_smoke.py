"""`python -m bench.backfill --smoke` keeps working: one real gateway, 4 ingest streams of one
key against dashboard clients of another. The bench itself checks every answer and that the
rows stored equal the rows acknowledged; its timings are printed, never asserted."""

from __future__ import annotations

import re

from tests.bench.run import run_bench


def test_backfill_smoke_run_checks_its_answers_and_prints_every_phase() -> None:
    out = run_bench("bench.backfill", "--smoke")
    print(out)
    for phase in (
        "raw asyncpg: dashboard query, one connection",
        "raw asyncpg: 4 COPY streams",
        "gateway: 4 dashboards alone",
        "gateway: 4 dashboards + 4 ingest streams",
    ):
        assert f"| {phase} |" in out, phase
    assert "rows stored = rows acknowledged" in out
    loaded = next(line for line in out.splitlines() if "+ 4 ingest streams |" in line)
    dashboard_outcomes, ingest_outcomes = loaded.split(" | ")[4], loaded.split(" | ")[6]
    # Every dashboard read was answered with data, under the backfill too; ingest calls were
    # either stored or refused with 429 (the tenant's concurrency limit), never failed.
    assert set(re.findall(r"(\w+): \d+", dashboard_outcomes)) == {"200"}, loaded
    assert set(re.findall(r"(\w+): \d+", ingest_outcomes)) <= {"200", "429"}, loaded
