"""What to forecast and how: discovery through the gateway, each target's models, its
physical bounds and its seasonal-naive season (docs/forecasting.md, "Targets")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from forecasting.backtest import Bound
from forecasting.history import DAY_MS, WEEK_MS, Array, History
from forecasting.models import BASELINES, Model, gbm
from forecasting.pv import clear_sky_model
from forecasting.settings import Settings, TargetConfig
from sidecar.client import GatewayClient, GatewayRejected, parse_time, rfc3339
from sidecar.solar import PvSystem

__all__ = ["Target", "discover_targets", "read_history"]

SITES = """query ForecastSites { sites(first: 1000) {
  key timezone pv load grid gridImport pvPeakKw pvSystem { latitude longitude tilt azimuth } } }"""
PRICES = """query ForecastPrices { seriesList(filter: {kind: PRICE, source: "smard"}, first: 1000) {
  nodes { key labels } } }"""
SERIES = """query ForecastSource($key: String!) { series(key: $key) {
  key kind unit resolution timezone } }"""
BUCKETS = """query ForecastHistory($key: String!, $from: DateTime!, $to: DateTime!,
                                   $every: String!) {
  series(key: $key) { aggregate(from: $from, to: $to, every: $every) { starts avg } } }"""
CONSUMPTION = """query ForecastConsumption($site: String!, $from: DateTime!, $to: DateTime!,
                                       $every: String!) {
  site(key: $site) { kpis(from: $from, to: $to, every: $every, resolution: $every,
                          timezone: "UTC") { buckets { start consumption coverage } } } }"""
INTENSITY = """query ForecastIntensity($region: String!, $from: DateTime!, $to: DateTime!) {
  gridIntensity(region: $region, from: $from, to: $to, every: "PT1H") { starts gPerKwh } }"""

STEP_MS = {"PT5M": 300_000, "PT15M": 900_000, "PT30M": 1_800_000, "PT1H": 3_600_000}
POWER_PER_KW = {"W": 1000.0, "kW": 1.0, "MW": 0.001}
ENERGY_PER_KWH = {"Wh": 1000.0, "kWh": 1.0, "MWh": 0.001}
DAY_AHEAD_FILTER = "4169"  # SMARD's day-ahead price


@dataclass(frozen=True, kw_only=True)
class Target:
    """`key` names what is forecast: a series key, `site:<site>:consumption` (from the
    balance, for sites without a load series) or `grid-intensity:<region>`."""

    key: str
    role: str  # pv | load | price | other
    series: dict[str, Any]  # kind unit resolution timezone of the forecast series
    source: str = "series"  # series | consumption | intensity
    subject: str | None = None  # the site (consumption) or region (intensity)
    # The wall clock of profiles and of the D+1 day: the site's zone for its meters (their
    # series may be declared in UTC), else the series' own.
    local_zone: str = "UTC"
    models: dict[str, Model]
    season_ms: int  # of the seasonal naive that MASE is scaled by
    rating: float | None = None  # pv: the upper bound in the series' unit per step
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def step_ms(self) -> int:
        return STEP_MS[self.series["resolution"]]

    def bound(self, values: Array) -> Array:
        if self.role == "pv":
            return np.clip(values, 0.0, self.rating)
        if self.role == "load":
            return np.clip(values, 0.0, None)
        return values

    @property
    def bounder(self) -> Bound:
        return self.bound


def _pv_parts(series: dict[str, Any], site: dict[str, Any]) -> tuple[dict[str, Model], float]:
    """The clear-sky model and the rating, in the series' unit; empty without PV settings."""
    kwp, system = site.get("pvPeakKw"), site.get("pvSystem")
    unit, kind = series["unit"], series["kind"]
    if kind == "ENERGY" and unit in ENERGY_PER_KWH:
        per, energy = ENERGY_PER_KWH[unit], True
    elif kind == "POWER" and unit in POWER_PER_KW:
        per, energy = POWER_PER_KW[unit], False
    else:
        return {}, float("inf")
    if kwp is None:
        return {}, float("inf")
    step_h = STEP_MS[series["resolution"]] / 3_600_000
    rating = kwp * per * (step_h if energy else 1.0)
    if system is None:
        return {}, rating
    return {"clear_sky": clear_sky_model(PvSystem(**system), kwp, per, energy)}, rating


def _models(role: str, wanted: list[str] | None, extra: dict[str, Model]) -> dict[str, Model]:
    available: dict[str, Model] = {**BASELINES, **extra}
    if role != "pv":
        available["gbm"] = gbm
    if wanted is None:
        return available
    return {name: available[name] for name in wanted if name in available}


async def _target(
    gateway: GatewayClient,
    key: str,
    role: str,
    site: dict[str, Any] | None,
    wanted: list[str] | None,
) -> Target | None:
    series = (await gateway.execute(SERIES, {"key": key}))["series"]
    if series is None or series["resolution"] not in STEP_MS:
        return None  # unknown, or no regular resolution to forecast on
    extra: dict[str, Model] = {}
    rating = None
    if role == "pv" and site is not None:
        extra, rating = _pv_parts(series, site)
    return Target(
        key=key,
        role=role,
        series=series,
        local_zone=site["timezone"] if site is not None else series["timezone"],
        models=_models(role, wanted, extra),
        season_ms=DAY_MS if role == "pv" else WEEK_MS,
        rating=rating,
    )


def consumption_target(site: dict[str, Any]) -> Target:
    """A site's consumption as its KPIs compute it (G + I + D - E - C), per quarter-hour."""
    return Target(
        key=f"site:{site['key']}:consumption",
        role="load",
        series={
            "kind": "ENERGY",
            "unit": "kWh",
            "resolution": "PT15M",
            "timezone": site["timezone"],
        },  # fmt: skip
        source="consumption",
        subject=site["key"],
        local_zone=site["timezone"],
        models=_models("load", None, {}),
        season_ms=WEEK_MS,
    )


def intensity_target(region: str) -> Target:
    """Hourly grid CO2 intensity of a SMARD region (the gateway's `gridIntensity`)."""
    return Target(
        key=f"grid-intensity:{region}",
        role="other",
        series={
            "kind": "CO2_INTENSITY",
            "unit": "g/kWh",
            "resolution": "PT1H",
            "timezone": "Europe/Berlin",
        },  # fmt: skip
        source="intensity",
        subject=region,
        local_zone="Europe/Berlin",
        models=_models("other", None, {}),
        season_ms=WEEK_MS,
    )


async def discover_targets(gateway: GatewayClient, settings: Settings) -> list[Target]:
    found: dict[str, Target] = {}
    sites = {s["key"]: s for s in (await gateway.execute(SITES))["sites"]}
    if settings.discover:
        for site in sites.values():
            if site["key"].startswith("scenario:"):
                continue  # scenario results are not measurements
            for role in ("pv", "load"):
                if site[role] and site[role] not in found:
                    target = await _target(gateway, site[role], role, site, None)
                    if target is not None:
                        found[target.key] = target
            if site["load"] is None and (site["grid"] or site["gridImport"]):
                target = consumption_target(site)
                found[target.key] = target
        for node in (await gateway.execute(PRICES))["seriesList"]["nodes"]:
            if str(node["labels"].get("filter")) == DAY_AHEAD_FILTER and node["key"] not in found:
                target = await _target(gateway, node["key"], "price", None, None)
                if target is not None:
                    found[target.key] = target
    for config in settings.targets:
        site = sites.get(config.site) if config.site else None
        if config.site and site is None:
            raise GatewayRejected(f"target {config.series}: no site {config.site!r}")
        target = await _target(gateway, config.series, config.role, site, _names(config))
        if target is None:
            raise GatewayRejected(f"target {config.series}: no series with a regular resolution")
        found[target.key] = target
    for region in settings.intensity_regions:
        target = intensity_target(region)
        found[target.key] = target
    return list(found.values())


def _names(config: TargetConfig) -> list[str] | None:
    return list(config.models) if config.models is not None else None


async def _buckets(
    gateway: GatewayClient, target: Target, lo: datetime, hi: datetime
) -> list[tuple[str, float | None]]:
    """(bucket start, value) pairs of one window, from the target's source."""
    window = {"from": rfc3339(lo), "to": rfc3339(hi)}
    if target.source == "consumption":
        variables = {"site": target.subject, "every": target.series["resolution"], **window}
        site = (await gateway.execute(CONSUMPTION, variables))["site"]
        if site is None:
            raise GatewayRejected(f"no site {target.subject!r}")
        return [
            (b["start"], b["consumption"] if b["coverage"] > 0 else None)
            for b in site["kpis"]["buckets"]
        ]
    if target.source == "intensity":
        data = await gateway.execute(INTENSITY, {"region": target.subject, **window})
        columns = data["gridIntensity"]
        return list(zip(columns["starts"], columns["gPerKwh"], strict=True))
    variables = {"key": target.key, "every": target.series["resolution"], **window}
    buckets = (await gateway.execute(BUCKETS, variables))["series"]["aggregate"]
    return list(zip(buckets["starts"], buckets["avg"], strict=True))


async def read_history(
    gateway: GatewayClient, target: Target, end: datetime, weeks: int
) -> History:
    """Bucket values at the target's resolution over `weeks` weeks before `end`, on a
    regular grid (NaN where a bucket is empty), trimmed after the last value."""
    step = target.step_ms
    end_ms = int(end.timestamp() * 1000) // step * step
    start_ms = end_ms - weeks * WEEK_MS
    grid = start_ms + np.arange((end_ms - start_ms) // step, dtype=np.int64) * step
    values = np.full(len(grid), np.nan)
    # 13 weeks of quarter-hours (8,736 buckets) fit one request's budget; KPIs are heavier.
    chunk = (4 if target.source == "consumption" else 13) * WEEK_MS
    for lo in range(start_ms, end_ms, chunk):
        hi = min(lo + chunk, end_ms)
        pairs = await _buckets(
            gateway,
            target,
            datetime.fromtimestamp(lo / 1000, UTC),
            datetime.fromtimestamp(hi / 1000, UTC),
        )
        for start, value in pairs:
            if value is None:
                continue
            index = (int(parse_time(start).timestamp() * 1000) - start_ms) // step
            if 0 <= index < len(values):
                values[index] = value
    seen = np.flatnonzero(np.isfinite(values))
    n = int(seen[-1]) + 1 if len(seen) else 0
    return History(grid[:n], values[:n], step, target.local_zone)
