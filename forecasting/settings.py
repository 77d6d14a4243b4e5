"""Forecasting service settings: defaults < TOML file < GATEWAY_URL / GATEWAY_TOKEN <
`--gateway-url` (docs/forecasting.md, "Settings")."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator

from sidecar.settings import GatewaySettings, StrictModel, load

__all__ = ["MODEL_NAMES", "Settings", "TargetConfig", "load_settings"]

MODEL_NAMES = (
    "persistence",
    "seasonal_daily",
    "seasonal_weekly",
    "weekly_profile",
    "gbm",
    "clear_sky",
)
Role = Literal["pv", "load", "price", "other"]


class TargetConfig(StrictModel):
    """A series to forecast besides (or instead of) the discovered ones."""

    series: str = Field(min_length=1)
    role: Role = "other"
    site: str | None = None  # pv: the site whose PV settings give the clear-sky envelope
    models: list[str] | None = None

    @model_validator(mode="after")
    def _pv_needs_a_site(self) -> Self:
        if self.role == "pv" and self.site is None:
            raise ValueError("a pv target needs `site` (its PV settings)")
        for name in self.models or []:
            if name not in MODEL_NAMES:
                raise ValueError(f"unknown model {name!r}; known: {', '.join(MODEL_NAMES)}")
        return self


class Settings(StrictModel):
    gateway: GatewaySettings = GatewaySettings()
    # Forecast every site's PV and load and every SMARD day-ahead price series.
    discover: bool = True
    targets: list[TargetConfig] = Field(default_factory=list)
    # SMARD regions whose hourly grid CO2 intensity (gateway `gridIntensity`) is forecast.
    intensity_regions: list[str] = Field(default_factory=list)
    horizon_hours: float = Field(default=48.0, gt=0, le=168)  # features reach a week ahead
    history_weeks: int = Field(default=8, ge=2, le=52)
    backtest_weeks: int = Field(default=4, ge=1, le=26)
    interval_seconds: float = Field(default=3600.0, gt=0)
    # The D+1 series keeps the forecast of the first issue at or after this local hour.
    day_ahead_hour: int = Field(default=12, ge=0, le=23)


def load_settings(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    gateway_url: str | None = None,
) -> Settings:
    return load(Settings, path, env, gateway_url)
