"""`python -m bench --smoke` keeps working: it starts a real gateway, runs every scenario at
tiny sizes and checks every result (counts, rows, identical aggregates). Timings are
printed but never asserted."""

from __future__ import annotations

from pathlib import Path

from tests.bench.run import run_bench


def test_smoke_run_checks_results_and_prints_the_table(tmp_path: Path) -> None:
    out = tmp_path / "table.md"
    printed = run_bench("bench", "--smoke", "--output", str(out))
    table = out.read_text()
    for scenario in (
        "ingest UPDATE, empty range",
        "re-ingest UPDATE",
        "append, onConflict ERROR",
        "list shape",
        "gateway peak RSS",
        "P1D aggregate",
        "1,000 raw samples",
        "dashboard mix",
    ):
        assert scenario in table, table
    assert "0 errors" in table
    assert "Machine: CPUs:" in table and "PostgreSQL: 15" in table
    assert table in printed
