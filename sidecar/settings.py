"""Gateway connection settings of a sidecar: defaults < TOML `[gateway]` < GATEWAY_URL /
GATEWAY_TOKEN < `--gateway-url`."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

__all__ = [
    "ConfigError",
    "GatewaySettings",
    "StrictModel",
    "format_errors",
    "load",
]

DEFAULT_GATEWAY_URL = "http://127.0.0.1:8000/graphql"


class ConfigError(Exception):
    """Bad configuration: the CLI prints it and exits with status 2."""


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GatewaySettings(StrictModel):
    url: str = DEFAULT_GATEWAY_URL
    token: SecretStr | None = None
    # With a platform key: act for this tenant (X-Tenant; docs/security.md, Tenants).
    tenant: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    timeout_seconds: float = Field(default=60.0, gt=0)
    # The gateway accepts at most 100,000 points per ingest call by default.
    max_points_per_request: int = Field(default=20_000, ge=100, le=100_000)
    retry_attempts: int = Field(default=8, ge=1)
    retry_timeout_seconds: float = Field(default=600.0, gt=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value.rstrip("/")


M = TypeVar("M", bound="StrictModel")


def load(
    model: type[M],
    path: Path | None,
    env: Mapping[str, str] | None,
    gateway_url: str | None,
) -> M:
    """Validate TOML file < GATEWAY_URL / GATEWAY_TOKEN < `--gateway-url` into `model`."""
    data = with_gateway_overrides(read_toml(path), env or {}, gateway_url)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, str(path) if path else "built-in defaults")) from None


def read_toml(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read configuration {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration {path} is not valid TOML: {exc}") from exc


def with_gateway_overrides(
    data: dict[str, Any], env: Mapping[str, str], gateway_url: str | None
) -> dict[str, Any]:
    """`data` with GATEWAY_URL, GATEWAY_TOKEN, GATEWAY_TENANT and --gateway-url applied to
    `[gateway]`."""
    gateway: dict[str, Any] = dict(data.get("gateway") or {})
    if url := env.get("GATEWAY_URL"):
        gateway["url"] = url
    if token := env.get("GATEWAY_TOKEN"):
        gateway["token"] = token
    if tenant := env.get("GATEWAY_TENANT"):
        gateway["tenant"] = tenant
    if gateway_url is not None:
        gateway["url"] = gateway_url
    return {**data, "gateway": gateway} if gateway else data


def format_errors(exc: ValidationError, source: str) -> str:
    """One line per invalid field (shared with the SMARD scraper)."""
    lines = [f"invalid configuration ({source}):"]
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"]) or "(top level)"
        lines.append(f"  {where}: {err['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)
