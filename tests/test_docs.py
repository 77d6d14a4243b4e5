"""docs/ against the code: plausibility rules, warning and error codes, settings and links.

The plausibility tables are the code's rule table (`resolvers.plausibility`) printed as markdown,
and the error codes are the enums of `resolvers.codes`, so a threshold or a code changed on one
side only fails here.
"""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path

import pytest
from pydantic_core import PydanticUndefined

from db import energy as db_energy, intervals as db_intervals
from gateway.settings import Settings
from resolvers import plausibility
from resolvers.codes import ErrorCode, UserErrorCode, WarningCode
from resolvers.kpi_types import WarningLevel

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
Bounds = tuple[float, float] | None


def table_rows(path: Path, header_start: str) -> list[dict[str, str]]:
    """The rows of the first markdown table whose header begins with `header_start`."""
    lines = path.read_text().splitlines()
    for n, line in enumerate(lines):
        if line.startswith(header_start):
            header = [c.strip() for c in line.strip().strip("|").split("|")]
            rows = []
            for row in lines[n + 2 :]:
                if not row.startswith("|"):
                    break
                cells = [c.strip() for c in row.strip().strip("|").split("|")]
                rows.append(dict(zip(header, cells, strict=True)))
            return rows
    raise AssertionError(f"no table starting with {header_start!r} in {path}")


def parse_bounds(cell: str) -> Bounds:
    if cell == "-":
        return None
    match = re.fullmatch(r"\[(\S+), (\S+)\]", cell)
    assert match, f"bounds must look like [low, high] or -: {cell!r}"
    return float(match[1]), float(match[2])


PLAUSIBILITY = DOCS / "plausibility.md"


def test_the_docs_show_the_rule_tables_the_code_prints() -> None:
    """Regenerate with `python -m resolvers.plausibility` when this fails."""
    text = PLAUSIBILITY.read_text()
    for table in plausibility.markdown_tables().split("\n\n"):
        assert table.strip() in text, f"docs/plausibility.md lacks:\n{table}"


def test_every_range_rule_in_the_docs_matches_the_code() -> None:
    documented = [
        (
            row["code"].strip("`"),
            row["endpoint"],
            row["grain"],
            parse_bounds(row["WARNING outside"]),
            parse_bounds(row["ERROR outside"]),
        )
        for row in table_rows(PLAUSIBILITY, "| code | endpoint | checked value |")
    ]
    rules = [
        (r.code.value, r.endpoint, r.grain.value, r.plausible, r.hard)
        for r in plausibility.RANGE_RULES
    ]
    assert documented == rules


def test_every_event_rule_in_the_docs_matches_the_code() -> None:
    rows = table_rows(PLAUSIBILITY, "| code | endpoint | level |")
    documented = [(row["code"].strip("`"), row["level"]) for row in rows]
    events = [(r.code.value, r.level and r.level.value) for r in plausibility.EVENT_RULES]
    assert documented == events


def test_the_rule_table_is_complete_and_well_formed() -> None:
    rules = [*plausibility.RANGE_RULES, *plausibility.EVENT_RULES]
    assert {r.code for r in rules} == set(WarningCode)
    for rule in plausibility.RANGE_RULES:
        assert rule.level is None and (rule.plausible or rule.hard), rule.code
        for low, high in filter(None, (rule.plausible, rule.hard)):
            assert low <= high and not (math.isnan(low) or math.isnan(high)), rule.code
        if rule.plausible and rule.hard:  # the ERROR range lies outside the WARNING range
            assert rule.hard[0] <= rule.plausible[0] and rule.plausible[1] <= rule.hard[1]
    for rule in plausibility.EVENT_RULES:
        assert rule.level in set(WarningLevel) and not (rule.plausible or rule.hard), rule.code
    # The market-price fix: prices are judged per stored interval on every read.
    assert plausibility.MARKET_PRICE.grain is plausibility.Grain.INTERVAL
    assert plausibility.SITE_PRICE.grain is plausibility.Grain.INTERVAL


def test_every_error_code_is_documented_in_the_api_contract() -> None:
    api = (DOCS / "api.md").read_text()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", api))
    codes = {c.value for c in (*ErrorCode, *UserErrorCode)}
    assert codes - documented == set()


def test_codes_raised_in_db_are_user_error_codes() -> None:
    for code in (db_energy.UnsupportedSeries.code, db_intervals.InvalidInterval.code):
        assert code in set(UserErrorCode)


def test_no_code_is_spelled_as_a_string_literal_in_gateway_or_resolvers() -> None:
    """Codes come from `resolvers.codes`; a literal would bypass the enums and the docs."""
    codes = {c.value for c in (*ErrorCode, *UserErrorCode, *WarningCode)}
    offenders = []
    for folder in ("gateway", "resolvers"):
        for path in (ROOT / folder).glob("*.py"):
            if path.name == "codes.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and node.value in codes
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value}")
    assert offenders == []


def _env_names(name: str, field: object) -> list[str]:
    alias = getattr(field, "validation_alias", None)
    if alias is not None:
        return [str(a) for a in alias.choices]
    return [f"GATEWAY_{name.upper()}"]


def _default(field: object) -> str:
    value = getattr(field, "default", None)
    factory = getattr(field, "default_factory", None)
    if value is PydanticUndefined and factory is not None:
        value = factory()
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def test_the_settings_table_lists_every_setting_with_its_default() -> None:
    rows = table_rows(DOCS / "operations.md", "| variable | default |")
    documented = {
        row["variable"].strip("`"): row["default"].strip("`").replace(",", "") for row in rows
    }
    for name, field in Settings.model_fields.items():
        names = _env_names(name, field)
        assert names[0] in documented, f"{names[0]} is missing from docs/operations.md"
        # Thousands separators and list commas both dropped.
        assert documented[names[0]] == _default(field).replace(",", ""), names[0]
    assert len(documented) == len(Settings.model_fields)


LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


def _anchors(path: Path) -> set[str]:
    """GitHub-style heading anchors."""
    out = set()
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            title = re.sub(r"[^\w\- ]", "", title)
            out.add(title.replace(" ", "-"))
    return out


# Files other engineers add in parallel; linked from docs/README.md before they land.
PENDING: set[str] = set()


@pytest.mark.parametrize(
    "page", sorted([*DOCS.glob("*.md"), ROOT / "README.md"]), ids=lambda p: p.name
)
def test_relative_links_resolve(page: Path) -> None:
    for target, anchor in LINK.findall(page.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        path = (page.parent / target).resolve()
        if path.name in PENDING and path.parent == DOCS:
            continue
        assert path.exists(), f"{page.name}: broken link {target}"
        if anchor and path.suffix == ".md":
            assert anchor[1:] in _anchors(path), f"{page.name}: no anchor {target}{anchor}"


def test_code_comments_point_into_docs_not_outside_the_repository() -> None:
    pattern = re.compile(
        r"shared/(?:domain|notes|hooks|design|README)|(?<![\w/])(energy|reliability|design|smard|performance)\.md"
    )
    offenders = []
    for folder in (
        *("gateway", "resolvers", "db", "scrapers", "bench", "tests", "scripts"),
        *("forecasting", "scenarios", "sidecar", "devtools", "jsonlogs"),
    ):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in {".py", ".toml", ".yaml", ""} or not path.is_file():
                continue
            if path == Path(__file__).resolve():
                continue
            for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if pattern.search(line) and "docs/" not in line:
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []


def test_sources_are_public_addresses() -> None:
    for page in DOCS.glob("*.md"):
        assert "/work/" not in page.read_text(), page.name
