"""Builders for the KPI tests: series with samples at minute offsets, energy queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Gql

UPSERT = """mutation($input: SeriesInput!) {
  upsertSeries(input: $input) { key integration maxGap meterModulus }
}"""
INGEST = """mutation($input: IngestInput!) {
  ingest(input: $input) { accepted userErrors { code message key index } }
}"""
ENERGY = """query($key: String!, $from: DateTime!, $to: DateTime!, $every: String!,
                  $tz: String) {
  series(key: $key) {
    energy(from: $from, to: $to, every: $every, timezone: $tz) {
      starts ends kwh positiveKwh negativeKwh coverage resets rollovers dips method maxGap
      total { kwh positiveKwh negativeKwh coverage resets rollovers dips }
      warnings { code level quantity bucket value message }
    }
  }
}"""

T0 = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)


def at(minutes: float, origin: datetime = T0) -> datetime:
    return origin + timedelta(minutes=minutes)


def iso(t: datetime) -> str:
    return t.isoformat()


async def make_series(gql: Gql, key: str, kind: str, unit: str, **extra: Any) -> None:
    body = await gql(UPSERT, {"input": {"key": key, "kind": kind, "unit": unit, **extra}})
    assert body.get("errors") is None, body


async def put(gql: Gql, key: str, times: list[datetime], values: list[float]) -> None:
    series = [{"key": key, "timestamps": [iso(t) for t in times], "values": values}]
    body = await gql(INGEST, {"input": {"series": series}})
    assert body.get("errors") is None, body
    assert body["data"]["ingest"]["userErrors"] == [], body


async def series_at(
    gql: Gql,
    key: str,
    kind: str,
    unit: str,
    minutes: Sequence[float],
    values: list[float],
    origin: datetime = T0,
    **extra: Any,
) -> None:
    await make_series(gql, key, kind, unit, **extra)
    await put(gql, key, [at(m, origin) for m in minutes], values)


async def energy(
    gql: Gql, key: str, start: datetime, end: datetime, every: str, tz: str | None = None
) -> dict[str, Any]:
    body = await gql(
        ENERGY, {"key": key, "from": iso(start), "to": iso(end), "every": every, "tz": tz}
    )
    assert body.get("errors") is None, body
    result: dict[str, Any] = body["data"]["series"]["energy"]
    return result


def codes(result: dict[str, Any]) -> set[str]:
    return {w["code"] for w in result["warnings"]}


UPSERT_SITE = """mutation($input: SiteInput!) {
  upsertSite(input: $input) {
    site { key timezone tariff { kind } }
    userErrors { code message key }
  }
}"""
KPIS = """query($site: String!, $from: DateTime!, $to: DateTime!, $every: String!,
                  $tz: String, $res: String!) {
  site(key: $site) {
    kpis(from: $from, to: $to, every: $every, timezone: $tz, resolution: $res) {
      every resolution timezone
      buckets { ...v }
      total { ...v }
      warnings { code level quantity bucket value message }
    }
  }
}
fragment v on SiteKpiValues {
  start end production consumption gridImport gridExport batteryCharge batteryDischarge
  selfConsumption selfSupply selfConsumptionRate autarky importCost feedInRevenue
  baselineCost systemCost savings averageImportPrice co2Import co2Avoided coverage
  priceCoverage intensityCoverage
}"""


async def make_site(gql: Gql, **site: Any) -> None:
    body = await gql(UPSERT_SITE, {"input": site})
    assert body.get("errors") is None, body
    assert body["data"]["upsertSite"]["userErrors"] == [], body


async def kpis(
    gql: Gql,
    site: str,
    start: datetime,
    end: datetime,
    every: str,
    tz: str | None = None,
    resolution: str = "PT15M",
) -> dict[str, Any]:
    body = await gql(
        KPIS,
        {
            "site": site,
            "from": iso(start),
            "to": iso(end),
            "every": every,
            "tz": tz,
            "res": resolution,
        },
    )
    assert body.get("errors") is None, body
    result: dict[str, Any] = body["data"]["site"]["kpis"]
    return result


async def hourly(
    gql: Gql, key: str, origin: datetime, values: list[float], unit: str = "kWh", **extra: Any
) -> None:
    """An ENERGY series with one value per hour from `origin`."""
    await series_at(
        gql, key, "ENERGY", unit, [60 * h for h in range(len(values))], values, origin=origin,
        resolution="PT1H", **extra,
    )  # fmt: skip
