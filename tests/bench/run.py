"""Run a benchmark module as its command line does, against the test server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import BASE_URL

__all__ = ["ROOT", "run_bench"]

ROOT = Path(__file__).resolve().parents[2]


def run_bench(module: str, *args: str) -> str:
    """`python -m <module> <args> --database-url <test server>`; its stdout, once it exited 0."""
    proc = subprocess.run(
        [sys.executable, "-m", module, *args, "--database-url", BASE_URL],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout
