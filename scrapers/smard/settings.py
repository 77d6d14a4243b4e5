"""Configuration: pydantic-settings with a TOML file, the environment and CLI overrides.

Precedence (lowest first): built-in defaults < TOML file (--config) < environment (SMARD_*,
plus GATEWAY_URL and GATEWAY_TOKEN) < --base-url / --gateway-url. Environment variables are
prefixed SMARD_ and nest with a double underscore (SMARD_HTTP__CONCURRENCY=2); the gateway's
address and key keep the names every sidecar and the deployment files use. The settings
object is built once at the entry point and passed down. docs/scraper.md lists every key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from tomllib import TOMLDecodeError
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
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)
from pydantic_settings.sources.utils import parse_env_vars

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
    # Upper end of stamina's random addition to each exponential wait (spreads the retries).
    wait_jitter_seconds: float = Field(default=1.0, ge=0)
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
    # SMARD is a shared public service: at most a few parallel requests...
    concurrency: int = Field(default=3, ge=1, le=5)
    # ...started at most this often. The shared limiter starts here, halves the rate on every
    # 429 (once per round of requests in flight) and adds `rate_recovery_step` per success.
    requests_per_second: float = Field(default=10.0, gt=0, le=100)
    min_requests_per_second: float = Field(default=0.2, gt=0)
    rate_decrease_factor: float = Field(default=0.5, gt=0, lt=1)
    rate_recovery_step: float = Field(default=0.05, gt=0)

    @model_validator(mode="after")
    def _min_below_max(self) -> Self:
        if self.min_requests_per_second > self.requests_per_second:
            raise ValueError("min_requests_per_second must not exceed requests_per_second")
        return self


class GatewaySettings(_Model):
    url: str = DEFAULT_GATEWAY_URL
    token: SecretStr | None = None
    timeout_seconds: float = Field(default=60.0, gt=0)
    # Whole chunks are packed into one mutation up to this many points. The gateway accepts
    # 100,000 per call (GATEWAY_MAX_INGEST_POINTS); a week of quarter-hours is 672.
    max_points_per_request: int = Field(default=5000, ge=700, le=100_000)
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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SMARD_",
        env_nested_delimiter="__",
        env_ignore_empty=True,  # compose passes `GATEWAY_TOKEN: ${X:-}` as an empty string
        extra="forbid",
        frozen=True,
    )

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


class _Environment(EnvSettingsSource):
    """SMARD_* variables (nested with `__`) read from a given mapping, not only os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # The one place EnvSettingsSource reads os.environ (its dotenv source overrides it too).
        return parse_env_vars(
            self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


class _GatewayVariables(PydanticBaseSettingsSource):
    """GATEWAY_URL and GATEWAY_TOKEN: the names compose, Kubernetes and other sidecars use."""

    NAMES = {"url": "GATEWAY_URL", "token": "GATEWAY_TOKEN"}

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self._environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ maps the two variables itself

    def __call__(self) -> dict[str, Any]:
        gateway = {
            key: value for key, name in self.NAMES.items() if (value := self._environ.get(name))
        }
        return {"gateway": gateway} if gateway else {}


def _toml(path: Path) -> TomlConfigSettingsSource:
    # pydantic-settings skips a missing file silently; a named file must exist.
    try:
        if not path.is_file():
            raise FileNotFoundError(2, "No such file or directory")
        return TomlConfigSettingsSource(Settings, toml_file=path)
    except OSError as exc:
        raise ConfigError(f"cannot read configuration {path}: {exc.strerror}") from exc
    except TOMLDecodeError as exc:
        raise ConfigError(f"configuration {path} is not valid TOML: {exc}") from exc


def load_settings(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    base_url: str | None = None,
    gateway_url: str | None = None,
) -> Settings:
    """Build the settings from defaults, the TOML file, `env` (the entry point passes
    os.environ; None reads no environment) and the CLI overrides."""
    environ = env or {}
    overrides: dict[str, Any] = {}
    if base_url is not None:
        overrides["base_url"] = base_url
    if gateway_url is not None:
        overrides["gateway"] = {"url": gateway_url}
    # Highest precedence first; pydantic-settings deep-merges them (nested tables too).
    sources: list[PydanticBaseSettingsSource] = [
        InitSettingsSource(Settings, overrides),
        _GatewayVariables(Settings, environ),
        _Environment(Settings, environ),
    ]
    if path is not None:
        sources.append(_toml(path))
    source = "defaults and environment" if path is None else f"{path} and environment"
    try:
        # mypy sees only the field arguments of a pydantic model's __init__.
        return Settings(_build_sources=(tuple(sources), {}))  # type: ignore[call-arg]
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, source)) from None
    except SettingsError as exc:
        raise ConfigError(f"invalid configuration (environment): {exc}") from None
