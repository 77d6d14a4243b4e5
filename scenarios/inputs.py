"""What a scenario needs from the gateway: its inputs, the base site, and the base site's
PV, load and import price per step (docs/scenarios.md, "Inputs")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from scenarios.battery import Array, Battery
from sidecar.client import GatewayClient, parse_time, rfc3339
from sidecar.solar import PvSystem, clear_sky_kwh_per_kwp

__all__ = ["NoData", "ScenarioData", "SiteFlows", "load_scenario", "read_flows", "tariff_prices"]

SCENARIO = """query ScenarioInputs($key: String!) {
  scenario(key: $key) {
    key revision baseSiteKey from to pvKwp strategy status
    battery { capacityKwh powerKw chargeEfficiency dischargeEfficiency minSoc initialSoc }
    tariff { ...t }
  }
}
fragment t on Tariff { kind importPriceCt feedInCt priceSeries surchargesCt vat }"""

SITE = """query BaseSite($key: String!) {
  site(key: $key) {
    key timezone pv load pvPeakKw co2Region co2Intensity
    pvSystem { latitude longitude tilt azimuth }
    tariff { kind importPriceCt feedInCt priceSeries surchargesCt vat }
  }
}"""

RESOLUTION = """query Resolution($key: String!) { series(key: $key) { resolution } }"""

FLOWS = """query SiteFlows($key: String!, $from: DateTime!, $to: DateTime!, $step: String!) {
  site(key: $key) {
    kpis(from: $from, to: $to, every: $step, timezone: "UTC", resolution: $step) {
      buckets { start production consumption }
      total { coverage }
    }
  }
}"""

STEPS = {"PT5M": 300, "PT15M": 900, "PT30M": 1800, "PT1H": 3600}
CHUNK = timedelta(days=31)


class NoData(Exception):
    """The base site's data do not cover the scenario's period well enough."""


@dataclass(frozen=True, kw_only=True)
class ScenarioData:
    key: str
    revision: int
    base_site: dict[str, Any]
    start: datetime
    end: datetime
    pv_kwp: float | None
    battery: Battery | None
    strategy: str
    tariff: dict[str, Any]  # the override or the base site's


@dataclass(frozen=True, kw_only=True)
class SiteFlows:
    """The base site per step: starts (epoch ms, UTC), PV and load in kWh."""

    step: str
    starts_ms: npt.NDArray[np.int64]
    pv: Array
    load: Array

    @property
    def step_seconds(self) -> int:
        return STEPS[self.step]


def _battery(data: dict[str, Any] | None) -> Battery | None:
    if data is None:
        return None
    return Battery(
        capacity_kwh=data["capacityKwh"],
        power_kw=data["powerKw"],
        charge_efficiency=data["chargeEfficiency"],
        discharge_efficiency=data["dischargeEfficiency"],
        min_soc=data["minSoc"],
        initial_soc=data["initialSoc"],
    )


async def load_scenario(gateway: GatewayClient, key: str) -> ScenarioData:
    scenario = (await gateway.execute(SCENARIO, {"key": key}))["scenario"]
    if scenario is None:
        raise NoData(f"scenario {key!r} is gone")
    site = (await gateway.execute(SITE, {"key": scenario["baseSiteKey"]}))["site"]
    if site is None:
        raise NoData(f"the base site {scenario['baseSiteKey']!r} is gone")
    return ScenarioData(
        key=key,
        revision=scenario["revision"],
        base_site=site,
        start=parse_time(scenario["from"]),
        end=parse_time(scenario["to"]),
        pv_kwp=scenario["pvKwp"],
        battery=_battery(scenario["battery"]),
        strategy=scenario["strategy"],
        tariff=scenario["tariff"] or site["tariff"],
    )


async def _step(gateway: GatewayClient, site: dict[str, Any]) -> str:
    """The resolution of the site's load (else PV) series when it is a usable step."""
    for role in ("load", "pv"):
        if site[role] is None:
            continue
        series = (await gateway.execute(RESOLUTION, {"key": site[role]}))["series"]
        if series is not None and series["resolution"] in STEPS:
            return str(series["resolution"])
    return "PT15M"


async def read_flows(
    gateway: GatewayClient,
    site: dict[str, Any],
    start: datetime,
    end: datetime,
    *,
    min_coverage: float,
) -> SiteFlows:
    """PV and load per step from the site's KPI code (the same flows its KPIs use)."""
    step = await _step(gateway, site)
    seconds = STEPS[step]
    first = datetime.fromtimestamp(
        -(-int(start.timestamp()) // seconds) * seconds, UTC
    )  # first step start at or after `start`
    starts: list[int] = []
    pv: list[float] = []
    load: list[float] = []
    covered = 0.0
    chunk_start = first
    while chunk_start < end:
        chunk_end = min(chunk_start + CHUNK, end)
        variables = {
            "key": site["key"],
            "from": rfc3339(chunk_start),
            "to": rfc3339(chunk_end),
            "step": step,
        }
        kpis = (await gateway.execute(FLOWS, variables))["site"]["kpis"]
        for bucket in kpis["buckets"]:
            bucket_start = parse_time(bucket["start"])
            if bucket_start + timedelta(seconds=seconds) > end:
                continue  # a partial last step is left out
            starts.append(int(bucket_start.timestamp() * 1000))
            pv.append(bucket["production"])
            load.append(bucket["consumption"])
        covered += kpis["total"]["coverage"] * (chunk_end - chunk_start).total_seconds()
        chunk_start = chunk_end
    coverage = covered / max((end - first).total_seconds(), 1.0)
    if not starts or coverage < min_coverage:
        raise NoData(
            f"the base site's data cover {coverage:.1%} of the period; at least "
            f"{min_coverage:.0%} is needed"
        )
    return SiteFlows(
        step=step,
        starts_ms=np.array(starts, dtype=np.int64),
        pv=np.array(pv, dtype=np.float64),
        load=np.array(load, dtype=np.float64),
    )


def scaled_pv(
    site: dict[str, Any], flows: SiteFlows, pv_kwp: float | None, clearness: float
) -> Array:
    """PV per step for a total PV size (docs/scenarios.md, "PV"): the site's PV scaled by
    pvKwp / pvPeakKw, or, without PV, clearness x the clear-sky envelope of its location."""
    if pv_kwp is None:
        return flows.pv
    if site["pv"] is not None and site["pvPeakKw"]:
        return flows.pv * (pv_kwp / float(site["pvPeakKw"]))
    if pv_kwp == 0:
        return np.zeros_like(flows.pv)
    system = site["pvSystem"]
    if system is None:
        raise NoData("the site has no PV and no PV location for a clear-sky profile")
    profile = clear_sky_kwh_per_kwp(flows.starts_ms, flows.step_seconds, PvSystem(**system))
    return pv_kwp * clearness * profile


async def tariff_prices(
    gateway: GatewayClient, tariff: dict[str, Any], flows: SiteFlows
) -> tuple[Array, float]:
    """Gross import price per step and the feed-in price, both in EUR/kWh.

    DYNAMIC: (spot / 10 + surcharges) x (1 + VAT) ct/kWh, each spot price held until the
    next one (day-ahead prices are valid for their whole period)."""
    feed_in = float(tariff["feedInCt"]) / 100
    n = len(flows.starts_ms)
    if tariff["kind"] == "FIXED":
        return np.full(n, float(tariff["importPriceCt"]) / 100), feed_in
    start = datetime.fromtimestamp(int(flows.starts_ms[0]) / 1000, UTC)
    end = datetime.fromtimestamp(int(flows.starts_ms[-1]) / 1000 + flows.step_seconds, UTC)
    stamps, spot = await gateway.samples(tariff["priceSeries"], start - timedelta(days=2), end)
    index = np.searchsorted(stamps, flows.starts_ms, side="right") - 1
    if len(stamps) == 0 or index.min() < 0:
        raise NoData("the price series has no price for the start of the period")
    stale = flows.starts_ms - stamps[index] > 2 * 86_400_000
    if stale.any():
        raise NoData("the price series has a gap of more than two days in the period")
    ct = (spot[index] / 10 + float(tariff["surchargesCt"])) * (1 + float(tariff["vat"]))
    return np.asarray(ct / 100, dtype=np.float64), feed_in
