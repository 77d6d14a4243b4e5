"""Where the deployment files are, how to read them, and what the scraper reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from scrapers.smard.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
K8S = ROOT / "deploy" / "k8s"

Doc = dict[str, Any]


def load_yaml_documents(path: Path) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def scraper_reads(name: str) -> bool:
    """Whether the scraper's settings change when `name` is set: asks the code, not a list."""
    probe = {name: "http://probe.invalid/graphql"}
    return load_settings(env=probe).model_dump_json() != load_settings(env={}).model_dump_json()
