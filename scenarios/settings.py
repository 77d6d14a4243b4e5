"""Scenario service settings: defaults < TOML file < GATEWAY_URL / GATEWAY_TOKEN <
`--gateway-url` (docs/scenarios.md, "Settings")."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field

from sidecar.settings import GatewaySettings, StrictModel, load

__all__ = ["Settings", "load_settings"]


class Settings(StrictModel):
    gateway: GatewaySettings = GatewaySettings()
    # Who claims scenarios (shown in the gateway); host name by default.
    worker: str = Field(default_factory=socket.gethostname, min_length=1, max_length=200)
    poll_seconds: float = Field(default=10.0, gt=0)
    # A claim older than this is taken over: its service is presumed dead.
    lease_seconds: float = Field(default=900.0, ge=10)
    # Typical share of the clear-sky envelope a German PV system yields over a year: ~950
    # kWh/kWp real (docs/scenarios.md) over ~1670 clear-sky for Berlin.
    clearness: float = Field(default=0.57, gt=0, le=1)
    # Least share of the period the base site's data must cover.
    min_coverage: float = Field(default=0.9, ge=0, le=1)


def load_settings(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    gateway_url: str | None = None,
) -> Settings:
    return load(Settings, path, env, gateway_url)
