"""docs/ against the code: plausibility bounds, warning and error codes, settings and links.

The bounds are read from the code itself (the module constants and the literal arguments of the
range checks), so a threshold changed on one side only fails here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic_core import PydanticUndefined

from gateway.settings import Settings
from resolvers import errors, kpi_types, market

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
WARNING_MODULES = ("kpis", "kpi_types", "market", "energy")
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


def _number(node: ast.expr) -> float:
    """A literal bound: 1.5, -0.02, float("inf"), float("-inf")."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_number(node.operand)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float":
        return float(ast.literal_eval(node.args[0]))
    return float(ast.literal_eval(node))


def _bounds(node: ast.expr, module: object) -> Bounds:
    if isinstance(node, ast.Constant) and node.value is None:
        return None
    if isinstance(node, ast.Name):  # a module constant such as PRICE_HARD
        value = getattr(module, node.id)
        return float(value[0]), float(value[1])
    assert isinstance(node, ast.Tuple), ast.dump(node)
    low, high = (_number(e) for e in node.elts)
    return low, high


def _calls(name: str) -> Iterator[tuple[ast.Call, object]]:
    for module_name in WARNING_MODULES:
        module = __import__(f"resolvers.{module_name}", fromlist=["_"])
        tree = ast.parse((ROOT / "resolvers" / f"{module_name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if called == name:
                    yield node, module


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def code_range_rules() -> dict[str, set[tuple[Bounds, Bounds]]]:
    """code -> the (plausible, hard) pairs the range checks in the resolvers use."""
    rules: dict[str, set[tuple[Bounds, Bounds]]] = {}
    for call, module in _calls("check_value"):
        code, plausible, hard = (_keyword(call, k) for k in ("code", "plausible", "hard"))
        assert isinstance(code, ast.Constant) and plausible is not None and hard is not None
        rules.setdefault(code.value, set()).add((_bounds(plausible, module), _bounds(hard, module)))
    return rules


def code_coverage_rules() -> set[str]:
    codes = set()
    for call, _ in _calls("coverage_warnings"):
        code = _keyword(call, "code")
        codes.add(code.value if isinstance(code, ast.Constant) else "LOW_COVERAGE")
    return codes


def code_event_rules() -> dict[str, str]:
    """code -> level of the warnings raised outside the range checks."""
    events: dict[str, str] = {}
    for call, _ in _calls("_warn"):
        code, level = call.args[0], call.args[1]
        assert isinstance(code, ast.Constant) and isinstance(level, ast.Attribute)
        events[code.value] = level.attr
    for call, _ in _calls("KpiWarning"):
        code, level = _keyword(call, "code"), _keyword(call, "level")
        if not isinstance(level, ast.Attribute):
            continue  # the generic builders (range and coverage checks, `_warn`)
        if isinstance(code, ast.Constant):
            events[code.value] = level.attr
        else:  # the register events: a loop over (code, count, text) tuples
            tree = ast.parse((ROOT / "resolvers" / "energy.py").read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.Tuple) and len(node.elts) == 3:
                    first = node.elts[0]
                    if isinstance(first, ast.Constant) and str(first.value).startswith("METER_"):
                        events[first.value] = level.attr
    return events


PLAUSIBILITY = DOCS / "plausibility.md"


def test_every_range_rule_in_the_docs_matches_the_code() -> None:
    rules = code_range_rules()
    coverage = code_coverage_rules()
    documented: dict[str, set[tuple[Bounds, Bounds]]] = {}
    for row in table_rows(PLAUSIBILITY, "| code | endpoint |"):
        code = row["code"].strip("`")
        pair = (parse_bounds(row["WARNING outside"]), parse_bounds(row["ERROR outside"]))
        documented.setdefault(code, set()).add(pair)
    coverage_pair = ((kpi_types.COVERAGE_OK, 1.0), (kpi_types.COVERAGE_FLAG, 1.0))
    expected = {**rules, **{code: {coverage_pair} for code in coverage}}
    assert documented == expected


def test_every_event_rule_in_the_docs_matches_the_code() -> None:
    events = code_event_rules()
    rows = table_rows(PLAUSIBILITY, "| code | endpoint | level |")
    documented = {row["code"].strip("`"): row["level"] for row in rows}
    assert documented == events


def test_the_code_has_the_rules_this_test_reads() -> None:
    """Guards the readers above: if the rules move (e.g. into one table), adapt this file."""
    assert len(code_range_rules()) >= 13
    assert {"LOW_COVERAGE", "MISSING_PRICE", "MISSING_INTENSITY"} <= code_coverage_rules()
    assert {"NEGATIVE_LOAD", "MISSING_FUEL", "METER_RESET"} <= set(code_event_rules())
    assert (market.PRICE_PLAUSIBLE, market.PRICE_HARD) in code_range_rules()["PRICE_OUT_OF_RANGE"]


def _gateway_codes() -> set[str]:
    codes: set[str] = set()
    for path in (ROOT / "gateway").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name == "error_response" and isinstance(node.args[2], ast.Constant):
                    codes.add(node.args[2].value)
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if (
                        isinstance(key, ast.Constant)
                        and key.value == "code"
                        and isinstance(value, ast.Constant)
                    ):
                        codes.add(value.value)
    return codes


def _resolver_error_codes() -> set[str]:
    codes = {v for k, v in vars(errors.Code).items() if not k.startswith("_")}
    codes.add(errors.Forbidden.code)
    for path in (ROOT / "resolvers").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            code = _keyword(node, "code")
            if name in {"InvalidArgument", "_Invalid", "InvalidInput", "NotFound"} and isinstance(
                code, ast.Constant
            ):
                codes.add(code.value)
            if name == "_rejected" and isinstance(node.args[0], ast.Constant):
                codes.add(node.args[0].value)
    return codes


def test_every_error_code_is_documented_in_the_api_contract() -> None:
    api = (DOCS / "api.md").read_text()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", api))
    codes = _gateway_codes() | _resolver_error_codes()
    assert {"UNAVAILABLE", "RATE_LIMITED", "UNKNOWN_SERIES", "INVALID_SITE"} <= codes
    assert codes - documented == set()


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
        return "[]"
    return str(value)


def test_the_settings_table_lists_every_setting_with_its_default() -> None:
    rows = table_rows(DOCS / "operations.md", "| variable | default |")
    documented = {
        row["variable"].strip("`"): row["default"].strip("`").replace(",", "") for row in rows
    }
    for name, field in Settings.model_fields.items():
        names = _env_names(name, field)
        assert names[0] in documented, f"{names[0]} is missing from docs/operations.md"
        assert documented[names[0]] == _default(field), names[0]
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
PENDING = {"timescaledb.md"}



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
    for folder in ("gateway", "resolvers", "db", "scrapers", "bench", "tests", "scripts"):
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
