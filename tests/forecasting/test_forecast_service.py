"""The forecasting service end to end against the real gateway over HTTP: discovery of a
site's PV and load and a SMARD day-ahead price, forecasts labelled and listed by
`Series.forecasts`, the D+1 series kept from the first issue after 12:00 local, PV within
[0, rating], backtest scores stored as KPI series."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest

from forecasting.service import ForecastService
from forecasting.settings import Settings
from sidecar.client import GatewayClient
from sidecar.settings import GatewaySettings
from sidecar.solar import PvSystem, clear_sky_kwh_per_kwp
from tests.conftest import Gql, LiveGateway
from tests.forecasting.synthetic import STEP_MS, start_monday, weekly_load
from tests.scenarios.test_scenario_api import SITE, unique

WEEKS = 3
KWP = 6.0
SYSTEM = PvSystem(latitude=52.5, longitude=13.4, tilt=30, azimuth=180)


@pytest.fixture
async def gateway(live_gateway: LiveGateway) -> AsyncIterator[GatewayClient]:
    async with httpx.AsyncClient() as http:
        yield GatewayClient(http, GatewaySettings(url=live_gateway.url))


async def make_forecastable_site(gateway: GatewayClient, gql: Gql) -> tuple[str, datetime]:
    site = unique("fc")
    load, _ = weekly_load(start_monday(2025, 6, 2), weeks=WEEKS, noise=0.05)
    stamps = load.starts_ms
    pv = clear_sky_kwh_per_kwp(stamps, 900, SYSTEM) * KWP * 0.7
    for suffix, values in (("load", load.values), ("pv", pv)):
        await gateway.upsert_series(
            {
                "key": f"{site}:{suffix}",
                "kind": "ENERGY",
                "unit": "kWh",
                "resolution": "PT15M",
                "timezone": "Europe/Berlin",
            }  # fmt: skip
        )
        await gateway.ingest(f"{site}:{suffix}", stamps, values)
    body = await gql(
        SITE,
        {
            "input": {
                "key": site,
                "load": f"{site}:load",
                "pv": f"{site}:pv",
                "pvPeakKw": KWP,
                "latitude": 52.5,
                "longitude": 13.4,
                "timezone": "Europe/Berlin",
                "tariff": {"kind": "FIXED", "importPriceCt": 30},
            }
        },  # fmt: skip
    )
    assert body["data"]["upsertSite"]["userErrors"] == []
    # A SMARD day-ahead price series, hourly.
    price = "smard:4169:DE-LU:hour"
    await gateway.upsert_series(
        {
            "key": price,
            "kind": "PRICE",
            "unit": "EUR/MWh",
            "resolution": "PT1H",
            "source": "smard",
            "labels": {"filter": "4169"},
        }  # fmt: skip
    )
    hourly = stamps[::4]
    await gateway.ingest(price, hourly, 80 + 40 * np.sin(np.arange(len(hourly)) / 24 * 2 * np.pi))
    end = datetime.fromtimestamp(int(stamps[-1] + STEP_MS) / 1000, UTC)
    return site, end


FORECASTS = """query($key: String!) { series(key: $key) { forecasts { key kind unit labels } } }"""


async def test_issue_discovers_labels_bounds_and_keeps_the_day_ahead(
    gateway: GatewayClient, gql: Gql
) -> None:
    site, end = await make_forecastable_site(gateway, gql)
    service = ForecastService(gateway, Settings(history_weeks=WEEKS))
    # 13:00 local on the last day: the D+1 window (tomorrow local) is open.
    issued = await service.issue_all(now=end - timedelta(hours=9))
    by_target = {i.target: i for i in issued}
    for key in (f"{site}:load", f"{site}:pv", "smard:4169:DE-LU:hour"):
        assert by_target[key].error is None and by_target[key].day_ahead, by_target[key]
    assert "gbm" in by_target[f"{site}:load"].models
    assert "clear_sky" in by_target[f"{site}:pv"].models

    listed = (await gql(FORECASTS, {"key": f"{site}:load"}))["data"]["series"]["forecasts"]
    models = {f["labels"]["model"] for f in listed if "horizon" not in f["labels"]}
    assert {"persistence", "seasonal_daily", "seasonal_weekly", "weekly_profile", "gbm"} <= models
    assert all(f["kind"] == "ENERGY" and f["unit"] == "kWh" for f in listed)
    assert any(f["labels"].get("horizon") == "D+1" for f in listed)

    horizon_end = end - timedelta(hours=9) + timedelta(hours=48)
    for model in ("clear_sky", "persistence", "seasonal_daily", "weekly_profile"):
        _, values = await gateway.samples(f"forecast:{site}:pv:{model}", end - timedelta(days=1),
                                          horizon_end)  # fmt: skip
        assert len(values) and values.min() >= 0 and values.max() <= KWP * 0.25 + 1e-9, model

    # A later issue overwrites the latest forecast but not the kept D+1 values.
    key = f"forecast:{site}:load:gbm:d+1"
    _, kept = await gateway.samples(key, end - timedelta(days=2), horizon_end)
    assert len(kept) == 96
    await gateway.ingest(f"{site}:load", [int(end.timestamp() * 1000) - STEP_MS], [9.0])
    await service.issue_all(now=end - timedelta(hours=8))
    _, again = await gateway.samples(key, end - timedelta(days=2), horizon_end)
    assert np.array_equal(kept, again)


async def test_no_day_ahead_before_noon(gateway: GatewayClient, gql: Gql) -> None:
    site, end = await make_forecastable_site(gateway, gql)
    service = ForecastService(gateway, Settings(history_weeks=WEEKS))
    issued = await service.issue_all(now=end - timedelta(hours=14))  # 08:00 local
    assert not any(i.day_ahead for i in issued)


async def test_backtest_stores_kpi_series(gateway: GatewayClient, gql: Gql) -> None:
    site, end = await make_forecastable_site(gateway, gql)
    service = ForecastService(gateway, Settings(history_weeks=2, backtest_weeks=1))
    scores = await service.backtest_all(now=end)
    load = {s.model: s for s in scores if s.target == f"{site}:load"}
    assert load["gbm"].mase is not None and load["gbm"].mase < 1
    body = await gql(
        """{ seriesList(filter: {kind: KPI, keyPrefix: "backtest:"}, first: 500) {
             nodes { key unit labels } } }"""
    )
    keys = {n["key"] for n in body["data"]["seriesList"]["nodes"]}
    assert f"backtest:{site}:load:gbm:mase" in keys
    assert f"backtest:{site}:pv:clear_sky:mae" in keys


async def test_consumption_from_the_balance_is_forecast(gateway: GatewayClient, gql: Gql) -> None:
    """A site without a load series: its consumption G + I - E (the KPI code's balance) is
    a target of its own, `site:<key>:consumption`."""
    site = unique("bal")
    load, _ = weekly_load(start_monday(2025, 6, 2), weeks=WEEKS, noise=0.05)
    stamps = load.starts_ms
    pv = clear_sky_kwh_per_kwp(stamps, 900, SYSTEM) * KWP * 0.7
    for suffix, values in (("pv", pv), ("grid", load.values - pv)):  # grid: + import
        await gateway.upsert_series(
            {"key": f"{site}:{suffix}", "kind": "ENERGY", "unit": "kWh", "resolution": "PT15M"}
        )
        await gateway.ingest(f"{site}:{suffix}", stamps, values)
    body = await gql(
        SITE,
        {"input": {"key": site, "pv": f"{site}:pv", "grid": f"{site}:grid", "pvPeakKw": KWP,
                   "timezone": "Europe/Berlin", "tariff": {"kind": "FIXED", "importPriceCt": 30}}},
    )  # fmt: skip
    assert body["data"]["upsertSite"]["userErrors"] == []
    end = datetime.fromtimestamp(int(stamps[-1] + STEP_MS) / 1000, UTC)
    service = ForecastService(gateway, Settings(history_weeks=WEEKS))
    issued = {i.target: i for i in await service.issue_all(now=end)}
    target = f"site:{site}:consumption"
    assert issued[target].error is None and "gbm" in issued[target].models
    _, values = await gateway.samples(f"forecast:{target}:gbm", end, end + timedelta(hours=48))
    assert len(values) == 192 and values.min() >= 0
    # It learned the weekly load, not the PV-shaped grid flow: evening peak above the night.
    assert values[19 * 4 + 2] > values[3 * 4] + 0.2  # 19:30 vs 03:00 local, day one


async def test_grid_intensity_of_a_region_is_forecast(gateway: GatewayClient) -> None:
    """`intensity_regions`: the gateway's hourly gridIntensity of SMARD generation."""
    start = int(start_monday(2025, 6, 2).timestamp() * 1000)
    hours = np.arange(WEEKS * 7 * 24, dtype=np.int64)
    stamps = start + hours * 3_600_000
    wind = 30 + 20 * np.sin(hours / 24 * 2 * np.pi)  # MWh per hour
    for fid, values in ((1223, 60 - wind), (4067, wind)):  # lignite, wind onshore
        key = f"smard:{fid}:DE:hour"
        await gateway.upsert_series({"key": key, "kind": "ENERGY", "unit": "MWh",
                                     "resolution": "PT1H"})  # fmt: skip
        await gateway.ingest(key, stamps, values)
    end = datetime.fromtimestamp(int(stamps[-1] + 3_600_000) / 1000, UTC)
    settings = Settings(discover=False, intensity_regions=["DE"], history_weeks=WEEKS)
    issued = await ForecastService(gateway, settings).issue_all(now=end)
    assert [(i.target, i.error) for i in issued] == [("grid-intensity:DE", None)]
    _, values = await gateway.samples(
        "forecast:grid-intensity:DE:gbm", end, end + timedelta(hours=48)
    )
    # Lifecycle factors: lignite 1,120 g/kWh, wind 11: the mix stays between them.
    assert len(values) == 48 and 11 < values.min() and values.max() < 1120
