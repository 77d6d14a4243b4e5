"""Configuration: a TOML file validated by pydantic, then environment, then CLI overrides.

Precedence (lowest first): built-in defaults < TOML file < SMARD_BASE_URL / GATEWAY_URL /
GATEWAY_TOKEN < --base-url / --gateway-url. The settings object is built once at the entry
point and passed down.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from scrapers.smard.catalog import DEFAULT_FUELS, FILTERS, RESOLUTIONS, check_combination
from scrapers.smard.errors import ConfigError
from sidecar.settings import format_errors

DEFAULT_BASE_URL = "https://www.smard.de/app"
DEFAULT_GATEWAY_URL = "http://127.0.0.1:8000/graphql"
USER_AGENT = "energy-gateway-smard-scraper/0.1 (SMARD sidecar of the energy-gateway project)"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


class SeriesConfig(_Model):
    filter: int
    region: str
    resolution: str
    key: str | None = None
    name: str | None = None
    # First day (Europe/Berlin) to load when the gateway holds nothing for this series yet.
    start: date | None = None

    @model_validator(mode="after")
    def _known_combination(self) -> Self:
        problem = check_combination(self.filter, self.region, self.resolution)
        if problem is not None:
            raise ValueError(problem)
        return self

    @property
    def series_key(self) -> str:
        return self.key or f"smard:{self.filter}:{self.region}:{self.resolution}"

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        return f"{FILTERS[self.filter].name}, {self.region} ({self.resolution})"

    @property
    def iso_resolution(self) -> str:
        return RESOLUTIONS[self.resolution].iso


class RetrySettings(_Model):
    # None means unlimited (bounded by timeout_seconds).
    attempts: int | None = Field(default=6, ge=1)
    timeout_seconds: float | None = Field(default=300.0, gt=0)
    wait_initial_seconds: float = Field(default=1.0, gt=0)
    wait_max_seconds: float = Field(default=60.0, gt=0)
    # A Retry-After beyond this is clamped so one odd header cannot park the scraper for a day.
    retry_after_max_seconds: float = Field(default=300.0, gt=0)


class GatewayRetrySettings(RetrySettings):
    # The gateway holds our data's destination: keep trying for an hour rather than drop a run.
    attempts: int | None = Field(default=None, ge=1)
    timeout_seconds: float | None = Field(default=3600.0, gt=0)


class HttpSettings(_Model):
    timeout_seconds: float = Field(default=20.0, gt=0)
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    max_response_bytes: int = Field(default=1_000_000, gt=0)
    user_agent: str = Field(default=USER_AGENT, min_length=1)
    # SMARD is a shared public service: at most a few parallel requests and a short pause.
    concurrency: int = Field(default=3, ge=1, le=5)
    pause_seconds: float = Field(default=0.3, ge=0)


class GatewaySettings(_Model):
    url: str = DEFAULT_GATEWAY_URL
    token: SecretStr | None = None
    timeout_seconds: float = Field(default=60.0, gt=0)
    # The gateway accepts at most 10,000 points per mutation; whole chunks are packed below this.
    max_points_per_request: int = Field(default=5000, ge=700, le=10_000)
    retry: GatewayRetrySettings = GatewayRetrySettings()

    _url = field_validator("url")(_http_url)


class ScheduleSettings(_Model):
    interval_seconds: float = Field(default=3600.0, gt=0)
    jitter_seconds: float = Field(default=300.0, ge=0)

    @model_validator(mode="after")
    def _jitter_below_interval(self) -> Self:
        if self.jitter_seconds >= self.interval_seconds:
            raise ValueError("jitter_seconds must be smaller than interval_seconds")
        return self


class SyncSettings(_Model):
    # Re-read at least this many newest chunks every run: values get revised, and on Sunday
    # afternoon the newest chunk holds only Monday.
    recent_chunks: int = Field(default=3, ge=2)
    # Without a start date, a new series is loaded this far back; older data needs `backfill`.
    initial_lookback_days: int = Field(default=14, ge=0)


def default_series() -> list[SeriesConfig]:
    prices = [
        SeriesConfig(filter=4169, region="DE-LU", resolution=r) for r in ("hour", "quarterhour")
    ]
    fuels = [SeriesConfig(filter=f, region="DE", resolution="hour") for f in DEFAULT_FUELS]
    load = [SeriesConfig(filter=410, region="DE", resolution="hour")]
    return prices + fuels + load


class Settings(_Model):
    base_url: str = DEFAULT_BASE_URL
    http: HttpSettings = HttpSettings()
    retry: RetrySettings = RetrySettings()
    gateway: GatewaySettings = GatewaySettings()
    schedule: ScheduleSettings = ScheduleSettings()
    sync: SyncSettings = SyncSettings()
    series: list[SeriesConfig] = Field(default_factory=default_series, min_length=1)

    _base_url = field_validator("base_url")(_http_url)

    @model_validator(mode="after")
    def _unique_keys(self) -> Self:
        seen: set[str] = set()
        for s in self.series:
            if s.series_key in seen:
                raise ValueError(f"series key {s.series_key!r} is configured twice")
            seen.add(s.series_key)
        return self


def load_settings(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    base_url: str | None = None,
    gateway_url: str | None = None,
) -> Settings:
    """Build the settings from defaults, the TOML file, the environment and CLI overrides."""
    data: dict[str, Any] = {}
    source = "built-in defaults"
    if path is not None:
        source = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read configuration {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration {path} is not valid TOML: {exc}") from exc
    env = env or {}
    gateway: dict[str, Any] = dict(data.get("gateway") or {})
    if url := env.get("SMARD_BASE_URL"):
        data["base_url"] = url
    if url := env.get("GATEWAY_URL"):
        gateway["url"] = url
    if token := env.get("GATEWAY_TOKEN"):
        gateway["token"] = token
    if base_url is not None:
        data["base_url"] = base_url
    if gateway_url is not None:
        gateway["url"] = gateway_url
    if gateway:
        data["gateway"] = gateway
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, source)) from None
