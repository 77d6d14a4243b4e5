"""Where the deployment files are, how to read them, and what the code reads."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from forecasting.settings import load_settings as forecasting_settings
from gateway.settings import Settings
from scenarios.settings import load_settings as scenario_settings
from scrapers.smard.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
K8S = ROOT / "deploy" / "k8s"

Doc = dict[str, Any]


def load_yaml_documents(path: Path) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


# Sidecars that reach the gateway over HTTP: compose service -> (Kubernetes Deployment and
# ConfigMap, Secret with its key, the code's settings loader).
SIDECARS: dict[str, tuple[str, str, str, Any]] = {
    "scraper": ("smard-scraper", "smard-scraper-config", "smard-scraper-key", load_settings),
    "forecasting": ("forecasting", "forecasting-config", "forecasting-key", forecasting_settings),
    "scenarios": ("scenarios", "scenarios-config", "scenarios-key", scenario_settings),
}


def sidecar_reads(service: str, name: str) -> bool:
    """Whether a sidecar's settings change when `name` is set: asks the code, not a list."""
    load = SIDECARS[service][3]
    probe = {name: "http://probe.invalid/graphql"}
    return bool(load(env=probe).model_dump_json() != load(env={}).model_dump_json())


def deployment_docs() -> str:
    """Where the deployment steps are written: docs/deployment.md and the sidecars' docs."""
    sections = [(ROOT / "docs" / "deployment.md").read_text()]
    for doc in ("forecasting.md", "scenarios.md"):
        text = (ROOT / "docs" / doc).read_text()
        sections.append(text[text.index("\n## Deployment\n") :])
    return "\n".join(sections)


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or not (stripped or pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    result = []
    for line in lines:
        instruction, _, args = line.partition(" ")
        result.append((instruction.upper(), args.strip()))
    return result


def resolve_compose_vars(text: str) -> str:
    """`${VAR:?msg}` / `${VAR:-default}` / `${VAR}` -> a concrete value (the default or VAR)."""

    def value(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3)
        return rest if op == ":-" else f"probe-{name.lower()}"

    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:[-?])([^}]*))?\}", value, text)


def image_is_pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag != "latest" and any(c.isdigit() for c in tag)


def env_names(environment: dict[str, Any] | list[str] | None) -> set[str]:
    if environment is None:
        return set()
    if isinstance(environment, dict):
        return set(environment)
    return {item.partition("=")[0] for item in environment}


def services(compose: Doc) -> dict[str, Doc]:
    result: dict[str, Doc] = compose["services"]
    return result


def http_path_of(test: list[str] | str) -> str:
    """The URL path a health-check command requests."""
    text = " ".join(test) if isinstance(test, list) else test
    match = re.search(r"https?://[^/'\" ]+(/[A-Za-z0-9_/-]*)", text)
    assert match, f"no URL in health check {text!r}"
    return match.group(1)


def of_kind(documents: list[Doc], kind: str) -> list[Doc]:
    return [d for d in documents if d.get("kind") == kind]


def named(documents: list[Doc], kind: str, name: str) -> Doc:
    found = [d for d in of_kind(documents, kind) if d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def pod_containers(workload: Doc) -> list[Doc]:
    containers: list[Doc] = workload["spec"]["template"]["spec"]["containers"]
    return containers


def deployment_for(documents: list[Doc], selector: dict[str, str]) -> list[Doc]:
    """Deployments whose pod labels are matched by `selector`."""
    return [
        d
        for d in of_kind(documents, "Deployment")
        if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
    ]


def settings_from(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The gateway's settings as a container with exactly this environment would build them."""
    with monkeypatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("GATEWAY_") or name == "DATABASE_URL":
                patch.delenv(name)
        for name, value in environment.items():
            patch.setenv(name, value)
        return Settings()


def container_env(documents: list[Doc], container: Doc) -> tuple[set[str], set[str]]:
    """(variable names, Secret names) a container gets, following its ConfigMap refs."""
    names = {e["name"] for e in container.get("env", [])}
    secrets = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for e in container.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            names |= set(named(documents, "ConfigMap", source["configMapRef"]["name"])["data"])
        if "secretRef" in source:
            secrets.add(source["secretRef"]["name"])
    return names, secrets
