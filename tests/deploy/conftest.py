"""Fixtures for the deployment-file checks: the parsed files and the names the code accepts."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml
from pydantic import AliasChoices, SecretStr

from gateway.app import create_app
from gateway.settings import Settings
from tests.deploy.files import DOCKER, K8S, ROOT, Doc, load_yaml_documents


@pytest.fixture(scope="session")
def compose() -> Doc:
    doc: Doc = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return doc


@pytest.fixture(scope="session")
def k8s_documents() -> list[Doc]:
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in load_yaml_documents(path)]


@pytest.fixture(scope="session")
def app_routes() -> set[str]:
    """Paths the gateway serves. Building the app opens no connection (that is the lifespan)."""
    settings = Settings(env="prod", database_url=SecretStr("postgresql://probe@127.0.0.1/probe"))
    return {str(route.path) for route in create_app(settings).routes if hasattr(route, "path")}


@pytest.fixture(scope="session")
def gateway_env_names() -> set[str]:
    """Environment variables `gateway.settings.Settings` reads: prefix + field, and aliases."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice) for choice in alias.choices)
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"{prefix}{name}")
    return {n.upper() for n in names}


@pytest.fixture(scope="session")
def gateway_commands() -> set[str]:
    """Subcommands of `python -m gateway`, read from its own --help."""
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    match = re.search(r"\{([a-z,-]+)\}", out)
    assert match, out
    return set(match.group(1).split(","))
