"""Write a scenario's results: series `scenario:<key>:<role>` and the site `scenario:<key>`
(docs/scenarios.md, "Results")."""

from __future__ import annotations

from typing import Any

from scenarios.battery import Flows
from scenarios.inputs import ScenarioData, SiteFlows
from sidecar.client import GatewayClient, GatewayRejected

__all__ = ["publish_results", "scenario_site_key"]

UPSERT_SITE = """mutation ScenarioSite($input: SiteInput!) {
  upsertSite(input: $input) { site { key } userErrors { code message key } } }"""

# Role in the site -> (series suffix, Flows attribute). Energies in kWh per step.
ENERGY_ROLES = {
    "pv": "pv",
    "load": "load",
    "gridImport": "grid_import",
    "gridExport": "grid_export",
    "batteryCharge": "charge",
    "batteryDischarge": "discharge",
}
SUFFIX = {
    "pv": "pv",
    "load": "load",
    "gridImport": "grid_import",
    "gridExport": "grid_export",
    "batteryCharge": "battery_charge",
    "batteryDischarge": "battery_discharge",
}


def scenario_site_key(key: str) -> str:
    return f"scenario:{key}"


def _series(key: str, suffix: str, kind: str, step: str, data: ScenarioData) -> dict[str, Any]:
    return {
        "key": f"{scenario_site_key(key)}:{suffix}",
        "name": f"Scenario {key}: {suffix.replace('_', ' ')}",
        "kind": kind,
        "unit": "kWh",
        "timezone": data.base_site["timezone"],
        "resolution": step,
        "labels": {"scenario": key, "role": suffix, "base_site": data.base_site["key"]},
        "source": "scenarios",
    }


async def publish_results(
    gateway: GatewayClient, data: ScenarioData, site_flows: SiteFlows, flows: Flows
) -> None:
    key, step = data.key, site_flows.step
    roles: dict[str, str] = {}
    with_battery = data.battery is not None
    for role, attribute in ENERGY_ROLES.items():
        if role.startswith("battery") and not with_battery:
            continue
        series = _series(key, SUFFIX[role], "ENERGY", step, data)
        await gateway.upsert_series(series)
        await gateway.ingest(series["key"], site_flows.starts_ms, getattr(flows, attribute))
        roles[role] = series["key"]
    if with_battery:
        # Stored energy after each step, stamped at the step's end.
        soc = _series(key, "soc", "OTHER", step, data)
        await gateway.upsert_series(soc)
        ends = site_flows.starts_ms + site_flows.step_seconds * 1000
        await gateway.ingest(soc["key"], ends, flows.soc_kwh)
    site = data.base_site
    tariff = {k: v for k, v in data.tariff.items() if v is not None}
    value = {
        "key": scenario_site_key(key),
        "name": f"Scenario {key} of {site['key']}",
        "timezone": site["timezone"],
        "tariff": tariff,
        # The scenario's PV size (none when it removes the PV), else the base site's.
        "pvPeakKw": (data.pv_kwp or None) if data.pv_kwp is not None else site["pvPeakKw"],
        "co2Region": site["co2Region"],
        "co2Intensity": site["co2Intensity"],
        "labels": {"scenario": key, "base_site": site["key"], "revision": data.revision},
        **roles,
    }
    result = (await gateway.execute(UPSERT_SITE, {"input": value}))["upsertSite"]
    if result["userErrors"]:
        raise GatewayRejected(f"scenario site rejected: {result['userErrors']}")
