"""The scenario service: claim a pending scenario through the gateway, simulate it, write
the results and finish the claim (docs/scenarios.md, "Service")."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from scenarios.battery import Flows
from scenarios.greedy import self_consumption
from scenarios.inputs import NoData, load_scenario, read_flows, scaled_pv, tariff_prices
from scenarios.optimal import cost_optimal
from scenarios.publish import publish_results
from scenarios.settings import Settings
from sidecar.cli import repeat_until_stopped
from sidecar.client import GatewayClient, GatewayRejected

__all__ = ["Outcome", "ScenarioService"]

_log = logging.getLogger("scenarios")

CLAIM = """mutation Claim($worker: String!, $lease: Float!) {
  claimScenario(worker: $worker, leaseSeconds: $lease) { key revision } }"""
FINISH = """mutation Finish($key: String!, $revision: Int!, $outcome: ScenarioOutcome!,
                        $message: String) {
  finishScenario(key: $key, revision: $revision, outcome: $outcome, message: $message) {
    userErrors { code message } } }"""


@dataclass(frozen=True)
class Outcome:
    key: str
    status: str  # DONE | FAILED | STALE
    message: str | None = None


class ScenarioService:
    def __init__(self, gateway: GatewayClient, settings: Settings) -> None:
        self._gateway = gateway
        self._settings = settings

    async def simulate(self, key: str) -> Flows:
        """Compute and publish one scenario (its claim is held by the caller)."""
        data = await load_scenario(self._gateway, key)
        site_flows = await read_flows(
            self._gateway,
            data.base_site,
            data.start,
            data.end,
            min_coverage=self._settings.min_coverage,
        )
        pv = scaled_pv(data.base_site, site_flows, data.pv_kwp, self._settings.clearness)
        hours = site_flows.step_seconds / 3600
        if data.strategy == "COST_OPTIMAL":
            price, feed_in = await tariff_prices(self._gateway, data.tariff, site_flows)
            flows = cost_optimal(pv, site_flows.load, hours, data.battery, price, feed_in)
        else:
            flows = self_consumption(pv, site_flows.load, hours, data.battery)
        await publish_results(self._gateway, data, site_flows, flows)
        return flows

    async def run_one(self) -> Outcome | None:
        """Claim, compute and finish one scenario; None when nothing is pending."""
        s = self._settings
        claimed = (
            await self._gateway.execute(CLAIM, {"worker": s.worker, "lease": s.lease_seconds})
        )["claimScenario"]
        if claimed is None:
            return None
        key, revision = claimed["key"], claimed["revision"]
        status, message = "DONE", None
        try:
            await self.simulate(key)
        except (NoData, GatewayRejected) as exc:
            status, message = "FAILED", str(exc)
        except Exception as exc:  # a bug must not leave the scenario RUNNING until the lease
            _log.exception("scenario %s failed", key)
            status, message = "FAILED", f"internal error: {type(exc).__name__}"
        variables = {"key": key, "revision": revision, "outcome": status, "message": message}
        errors = (await self._gateway.execute(FINISH, variables))["finishScenario"]["userErrors"]
        if errors:  # changed while we computed: it is pending again and will be recomputed
            return Outcome(key, "STALE", errors[0]["message"])
        _log.info("scenario %s: %s %s", key, status, message or "")
        return Outcome(key, status, message)

    async def run_pending(self) -> list[Outcome]:
        outcomes = []
        while (outcome := await self.run_one()) is not None:
            outcomes.append(outcome)
        return outcomes

    async def run_forever(self) -> None:
        await repeat_until_stopped(self.run_pending, self._settings.poll_seconds, _log)
