"""The sidecar reaches the gateway over HTTP only: no module of it imports the gateway's code."""

from __future__ import annotations

import ast
from pathlib import Path

SCRAPERS = Path(__file__).parents[3] / "scrapers"
FORBIDDEN = {"gateway", "resolvers", "db"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_scrapers_import_none_of_gateway_resolvers_db() -> None:
    modules = sorted(SCRAPERS.rglob("*.py"))
    assert len(modules) > 10
    offending = {str(p.relative_to(SCRAPERS)): imported_roots(p) & FORBIDDEN for p in modules}
    assert {name: roots for name, roots in offending.items() if roots} == {}
