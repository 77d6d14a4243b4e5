"""Sidecars reach the gateway over HTTP only: nothing in sidecar/, forecasting/ or
scenarios/ imports the gateway's packages or its server libraries."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"gateway", "resolvers", "db", "starlette", "strawberry", "sqlalchemy", "asyncpg"}


@pytest.mark.parametrize("package", ["sidecar", "forecasting", "scenarios"])
def test_sidecars_import_nothing_of_the_gateway(package: str) -> None:
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.relative_to(ROOT)}: {name}"
