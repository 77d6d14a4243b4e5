"""The demo site's KPI queries (docs/api.md) give realistic numbers (docs/plausibility.md)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from starlette.applications import Starlette

from devtools.demo import load_demo
from gateway.schema import served_schema
from gateway.settings import Settings
from tests.conftest import Gql

SITE_KPIS = """{
  site(key: "demo") {
    name
    kpis(from: "2025-10-06T00:00:00+02:00", to: "2025-11-03T00:00:00+01:00", every: "P1W") {
      buckets { start production consumption gridImport gridExport selfConsumptionRate autarky
                importCost savings co2Import }
      total { production consumption gridImport gridExport selfConsumptionRate autarky
              importCost feedInRevenue baselineCost savings averageImportPrice
              co2Import co2Avoided coverage priceCoverage intensityCoverage }
      warnings { code level quantity bucket message }
    }
  }
}"""
DST_DAY = """{
  site(key: "demo-fixed") {
    kpis(from: "2025-10-26T00:00:00+02:00", to: "2025-10-27T00:00:00+01:00", every: "P1D") {
      buckets { start end production consumption selfConsumptionRate autarky savings }
      warnings { code level }
    }
  }
  series(key: "demo:pv:power") {
    energy(from: "2025-10-26T00:00:00+02:00", to: "2025-10-27T00:00:00+01:00", every: "P1D") {
      starts ends kwh coverage method maxGap
    }
  }
}"""
MARKET = """{
  marketPrice(zone: "DE-LU", resolution: QUARTERHOUR, from: "2025-10-20T00:00:00+02:00",
              to: "2025-10-27T00:00:00+01:00", every: "P1D") {
    eurPerMwh ctPerKwh total { eurPerMwh ctPerKwh coverage }
  }
  gridIntensity(region: "DE", from: "2025-10-20T00:00:00+02:00",
                to: "2025-10-27T00:00:00+01:00", every: "P1D") {
    gPerKwh total { gPerKwh generationMwh coverage } warnings { code level }
  }
}"""


@pytest.fixture
async def demo(app: Starlette, settings: Settings) -> None:
    await load_demo(served_schema(settings), app.state.database)


async def _run(gql: Gql, query: str) -> dict[str, Any]:
    body = await gql(query)
    assert body.get("errors") is None, body
    if os.environ.get("SHOW_DEMO_KPIS"):
        print(json.dumps(body["data"], indent=1))
    data: dict[str, Any] = body["data"]
    return data


@pytest.mark.usefixtures("demo")
async def test_demo_site_kpis_are_realistic(gql: Gql) -> None:
    kpis = (await _run(gql, SITE_KPIS))["site"]["kpis"]
    total = kpis["total"]
    days = 28
    # A ~3,800 kWh/yr household and a 10 kWp roof in October.
    assert 6 <= total["consumption"] / days <= 16
    assert 5 <= total["production"] / days <= 40
    # An oversized roof (10 kWp for ~3,800 kWh) without battery: low self-consumption.
    assert 0.1 <= total["selfConsumptionRate"] <= 0.5
    assert 0.15 <= total["autarky"] <= 0.6
    # Energy balance of the measured meters: G + I - E = L.
    balance = total["production"] + total["gridImport"] - total["gridExport"]
    assert balance == pytest.approx(total["consumption"], rel=1e-9)
    assert 0.25 <= total["averageImportPrice"] <= 0.45  # EUR/kWh gross
    assert total["savings"] > 0
    assert 100 <= total["co2Import"] / total["gridImport"] * 1000 <= 700  # g/kWh
    # The last 15 minutes have no closing sample for the trapezoid: reported, not filled.
    assert total["coverage"] == pytest.approx(1.0, abs=1e-3)
    assert total["priceCoverage"] == pytest.approx(1.0)
    assert total["intensityCoverage"] == pytest.approx(1.0)
    assert [w for w in kpis["warnings"] if w["level"] == "ERROR"] == []
    assert len(kpis["buckets"]) == 4


@pytest.mark.usefixtures("demo")
async def test_demo_dst_day_and_market(gql: Gql) -> None:
    data = await _run(gql, DST_DAY)
    day = data["site"]["kpis"]["buckets"][0]
    assert (day["start"], day["end"]) == ("2025-10-25T22:00:00+00:00", "2025-10-26T23:00:00+00:00")
    energy = data["series"]["energy"]
    assert energy["coverage"] == pytest.approx([1.0])
    assert energy["kwh"][0] == pytest.approx(day["production"])
    market = await _run(gql, MARKET)
    assert 60 <= market["marketPrice"]["total"]["eurPerMwh"] <= 140
    assert 150 <= market["gridIntensity"]["total"]["gPerKwh"] <= 600
