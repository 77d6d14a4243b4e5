"""The command line: export-schema and migrate run as a user would run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_export_schema_prints_the_committed_schema() -> None:
    result = run("export-schema")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "schema.graphql").read_text()


def test_migrate_is_safe_to_rerun(database_url: str) -> None:
    result = run("migrate", env={"DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    assert "none (up to date)" in result.stdout


def test_migrate_without_database_url_fails_clearly() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "migrate"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr
