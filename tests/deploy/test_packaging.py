"""What the images install: the production wheel without the development tools, and every
library at the version pinned in docker/constraints.txt (docs/deployment.md)."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
from packaging.utils import canonicalize_name

from gateway import __main__ as cli
from tests.deploy.files import DOCKER, ROOT


def _constraints_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("constraints", ROOT / "scripts/constraints.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_installed_library_is_pinned() -> None:
    """Not only the direct dependencies: every package the images' requirements pull in has a
    pin, so no library of an image is resolved at build time."""
    script = _constraints_script()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    needed = script.closure(project["dependencies"] + extras["forecasting"] + extras["scenarios"])
    pinned = {
        canonicalize_name(line.partition("==")[0])
        for line in (DOCKER / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    missing = {canonicalize_name(name) for name in needed} - pinned
    assert not missing, f"unpinned: {sorted(missing)}; run scripts/constraints.py"


def test_the_wheel_leaves_the_development_tools_out() -> None:
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    assert "devtools" not in wheel["targets"]["wheel"]["packages"]
    assert not (ROOT / "gateway/demo.py").exists()
    built = sorted((ROOT / "dist").glob("*.whl"))  # scripts/test builds it before pytest
    if not built:
        pytest.skip("no wheel in dist/ (scripts/test builds one)")
    names = zipfile.ZipFile(built[-1]).namelist()
    assert not [n for n in names if n.startswith("devtools/") or n.endswith("/demo.py")]
    assert "gateway/__main__.py" in names


def test_dev_without_the_demo_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a wheel install: `devtools` cannot be imported."""
    monkeypatch.setitem(sys.modules, "devtools", None)
    assert cli._demo() is None
    assert "clone the repository and run scripts/dev" in cli.NO_DEMO


def test_dev_from_a_clone_finds_the_demo() -> None:
    demo = cli._demo()
    assert demo is not None and Path(demo.__file__ or "").parent == ROOT / "devtools"
