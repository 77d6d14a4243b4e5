"""The gateway's scenario storage: typed errors that write nothing, upsert revisions, claims
that go to exactly one caller, finishing only the claimed revision; site PV settings;
`Series.forecasts`."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import asyncpg
import httpx

from tests.conftest import Gql

SITE = """mutation($input: SiteInput!) {
  upsertSite(input: $input) { site { key pvPeakKw pvSystem { latitude longitude tilt azimuth kwp } }
                              userErrors { code message } } }"""
UPSERT = """mutation($input: ScenarioInput!) {
  upsertScenario(input: $input) {
    scenario { key baseSiteKey status revision strategy pvKwp
               battery { capacityKwh powerKw minSoc initialSoc } site { key } }
    userErrors { code message key } } }"""
CLAIM = """mutation($worker: String!) { claimScenario(worker: $worker) { key revision status } }"""
FINISH = """mutation($key: String!, $revision: Int!, $outcome: ScenarioOutcome!, $message: String) {
  finishScenario(key: $key, revision: $revision, outcome: $outcome, message: $message) {
    scenario { status message } userErrors { code } } }"""


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def make_series(gql: Gql, key: str, kind: str = "ENERGY", unit: str = "kWh") -> None:
    body = await gql(
        """mutation($input: SeriesInput!) { upsertSeries(input: $input) { key } }""",
        {"input": {"key": key, "kind": kind, "unit": unit}},
    )
    assert "errors" not in body, body


async def make_site(gql: Gql, key: str, *, dynamic: bool = False, **extra: Any) -> dict[str, Any]:
    await make_series(gql, f"{key}:load")
    await make_series(gql, f"{key}:pv")
    tariff: dict[str, Any] = {"kind": "FIXED", "importPriceCt": 35, "feedInCt": 8.1}
    if dynamic:
        await make_series(gql, f"{key}:price", "PRICE", "EUR/MWh")
        tariff = {
            "kind": "DYNAMIC",
            "priceSeries": f"{key}:price",
            "surchargesCt": 17.85,
            "vat": 0.19,
            "feedInCt": 8.1,
        }
    site = {"key": key, "load": f"{key}:load", "pv": f"{key}:pv", "tariff": tariff, **extra}
    body = await gql(SITE, {"input": site})
    assert body["data"]["upsertSite"]["userErrors"] == [], body
    return dict(body["data"]["upsertSite"]["site"])


def scenario(key: str, site: str, **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "site": site,
        "from": "2025-06-01T00:00:00+02:00",
        "to": "2025-06-08T00:00:00+02:00",
        **extra,
    }


async def test_site_pv_settings_round_trip_and_are_checked(gql: Gql) -> None:
    site = await make_site(
        gql, unique("pv"), pvPeakKw=9.8, latitude=52.5, longitude=13.4, tilt=35, azimuth=170
    )
    assert site["pvSystem"] == {
        "latitude": 52.5, "longitude": 13.4, "tilt": 35.0, "azimuth": 170.0, "kwp": 9.8
    }  # fmt: skip
    for bad in ({"latitude": 91, "longitude": 0}, {"latitude": 50}, {"latitude": 1, "longitude": 2,
                "azimuth": 360}, {"latitude": 1, "longitude": 2, "tilt": -1}):  # fmt: skip
        body = await gql(
            SITE,
            {
                "input": {
                    "key": unique("bad"),
                    "load": "x",
                    "tariff": {"kind": "FIXED", "importPriceCt": 30},
                    **bad,
                }
            },  # fmt: skip
        )
        assert [e["code"] for e in body["data"]["upsertSite"]["userErrors"]] == ["INVALID_PV"]


async def test_bad_scenarios_get_typed_errors_and_write_nothing(
    gql: Gql, admin_sql: asyncpg.Pool
) -> None:
    fixed = (await make_site(gql, unique("fixed"), pvPeakKw=5))["key"]
    battery = {"capacityKwh": 10, "powerKw": 5}
    cases = [
        (scenario(unique("s"), fixed, battery={**battery, "powerKw": 0}), "INVALID_BATTERY"),
        (
            scenario(unique("s"), fixed, battery={**battery, "chargeEfficiency": 0}),
            "INVALID_BATTERY",
        ),
        (
            scenario(unique("s"), fixed, battery={**battery, "dischargeEfficiency": 1.01}),
            "INVALID_BATTERY",
        ),  # fmt: skip
        (scenario(unique("s"), fixed, battery={**battery, "minSoc": 1}), "INVALID_BATTERY"),
        (
            scenario(unique("s"), fixed, battery={**battery, "minSoc": 0.5, "initialSoc": 0.2}),
            "INVALID_BATTERY",
        ),  # fmt: skip
        (scenario(unique("s"), "no-such-site"), "UNKNOWN_SITE"),
        (scenario(unique("s"), fixed, strategy="COST_OPTIMAL"), "INVALID_STRATEGY"),
        (scenario(unique("s"), fixed, pvKwp=-1), "INVALID_SCENARIO"),
        ({**scenario(unique("s"), fixed), "to": "2025-05-01T00:00:00Z"}, "INVALID_RANGE"),
        ({**scenario(unique("s"), fixed), "to": "2026-12-01T00:00:00Z"}, "INVALID_RANGE"),
        (scenario(unique("s"), fixed, tariff={"kind": "DYNAMIC"}), "INVALID_TARIFF"),
    ]
    before = await admin_sql.fetchval("SELECT count(*) FROM scenarios")
    for value, code in cases:
        body = await gql(UPSERT, {"input": value})
        result = body["data"]["upsertScenario"]
        assert result["scenario"] is None and [e["code"] for e in result["userErrors"]] == [code], (
            value,
            body,
        )
    assert await admin_sql.fetchval("SELECT count(*) FROM scenarios") == before


async def test_upsert_revisions_claim_and_finish(gql: Gql) -> None:
    site = (await make_site(gql, unique("dyn"), dynamic=True, pvPeakKw=5))["key"]
    key = unique("scn")
    value = scenario(key, site, pvKwp=10, battery={"capacityKwh": 10, "powerKw": 5},
                     strategy="COST_OPTIMAL")  # fmt: skip
    first = (await gql(UPSERT, {"input": value}))["data"]["upsertScenario"]["scenario"]
    assert first["status"] == "PENDING" and first["revision"] == 1
    assert first["battery"] == {"capacityKwh": 10, "powerKw": 5, "minSoc": 0, "initialSoc": 0}
    same = (await gql(UPSERT, {"input": value}))["data"]["upsertScenario"]["scenario"]
    assert same["revision"] == 1, "an identical upsert is not a change"

    claimed = await claim_until(gql, key)
    assert claimed["status"] == "RUNNING" and claimed["revision"] == 1
    # Changed while running: the old claim cannot finish it, it is pending again.
    changed = (await gql(UPSERT, {"input": {**value, "pvKwp": 12}}))["data"]["upsertScenario"]
    assert changed["scenario"]["revision"] == 2 and changed["scenario"]["status"] == "PENDING"
    stale = await gql(FINISH, {"key": key, "revision": 1, "outcome": "DONE"})
    assert stale["data"]["finishScenario"]["userErrors"] == [{"code": "STALE_CLAIM"}]

    claimed = await claim_until(gql, key)
    assert claimed["revision"] == 2
    done = await gql(FINISH, {"key": key, "revision": 2, "outcome": "FAILED", "message": "no data"})
    assert done["data"]["finishScenario"]["scenario"] == {"status": "FAILED", "message": "no data"}


async def claim_until(gql: Gql, key: str) -> dict[str, Any]:
    """Claim until this test's scenario comes up (other tests' scenarios may be pending);
    the others are finished FAILED so they do not linger."""
    for _ in range(100):
        body = await gql(CLAIM, {"worker": "test"})
        claimed = body["data"]["claimScenario"]
        assert claimed is not None, "scenario never claimed"
        if claimed["key"] == key:
            return dict(claimed)
        await gql(FINISH, {"key": claimed["key"], "revision": claimed["revision"],
                           "outcome": "FAILED", "message": "cleared by test"})  # fmt: skip
    raise AssertionError("too many pending scenarios")


async def test_concurrent_claims_never_share_a_scenario(
    gql: Gql, client: httpx.AsyncClient
) -> None:
    site = (await make_site(gql, unique("par")))["key"]
    keys = {unique("par") for _ in range(8)}
    for key in keys:
        await gql(UPSERT, {"input": scenario(key, site)})

    async def claim(worker: str) -> dict[str, Any] | None:
        response = await client.post(
            "/graphql", json={"query": CLAIM, "variables": {"worker": worker}}
        )
        result: dict[str, Any] | None = response.json()["data"]["claimScenario"]
        return result

    claims = await asyncio.gather(*(claim(f"w{i}") for i in range(16)))
    got = [c["key"] for c in claims if c is not None]
    assert len(got) == len(set(got)), "a scenario was claimed twice"
    assert keys <= set(got)
    for c in claims:
        if c is not None:
            await gql(FINISH, {"key": c["key"], "revision": c["revision"], "outcome": "FAILED"})


async def test_series_forecasts_lists_labelled_series(gql: Gql) -> None:
    await make_series(gql, "load-a")
    for model in ("profile", "gbm"):
        body = await gql(
            """mutation($input: SeriesInput!) { upsertSeries(input: $input) { key } }""",
            {
                "input": {
                    "key": f"forecast:load-a:{model}",
                    "kind": "ENERGY",
                    "unit": "kWh",
                    "labels": {"forecast_of": "load-a", "model": model},
                }
            },  # fmt: skip
        )
        assert "errors" not in body
    body = await gql("""{ series(key: "load-a") { forecasts { key labels } } }""")
    keys = [s["key"] for s in body["data"]["series"]["forecasts"]]
    assert keys == ["forecast:load-a:gbm", "forecast:load-a:profile"]


SWEEP = """mutation($input: SweepInput!) { upsertSweep(input: $input) {
  sweep { key cells { pvKwp paybackYears } } userErrors { code } } }"""


async def test_sweeps_are_checked_and_stored(gql: Gql) -> None:
    site = (await make_site(gql, unique("sw")))["key"]
    cell = {"pvKwp": 5, "batteryKwh": 0, "autarky": 0.3, "selfConsumptionRate": 0.4,
            "yearlySavingsEur": 500, "investmentEur": 6500, "paybackYears": 13}  # fmt: skip
    value = {"key": unique("sw"), "site": site, "from": "2025-01-01T00:00:00Z",
             "to": "2026-01-01T00:00:00Z", "cells": [cell]}  # fmt: skip
    for bad, code in (
        ({**value, "site": "no-such-site"}, "UNKNOWN_SITE"),
        ({**value, "to": "2024-01-01T00:00:00Z"}, "INVALID_RANGE"),
        ({**value, "cells": [cell] * 2501}, "BATCH_TOO_LARGE"),
    ):
        body = await gql(SWEEP, {"input": bad})
        assert body["data"]["upsertSweep"]["userErrors"] == [{"code": code}]
    body = await gql(SWEEP, {"input": value})
    assert body["data"]["upsertSweep"]["sweep"]["cells"] == [{"pvKwp": 5, "paybackYears": 13}]
    read = await gql("""query($k: String!) { sweep(key: $k) { site } }""", {"k": value["key"]})
    assert read["data"]["sweep"]["site"] == site
