"""A deterministic demo data set, loaded through the public GraphQL mutations.

Four weeks around the October 2025 DST change (2025-10-06 .. 2025-11-03, Europe/Berlin):
a 10 kWp PV site's 15-minute power and day-ahead prices at hour and quarter-hour
resolution (15-minute products exist since 2025-10-01). Re-loading is idempotent.

The site `demo` (and `demo-fixed`, the same meters on a fixed tariff) adds a household's
15-minute consumption, a signed grid meter that closes the balance sample by sample, and
SMARD-style hourly generation by fuel for DE (`smard:{filter}:DE:hour`, MWh), so the KPI
queries in docs/api.md (energy, cost, savings, CO2) return realistic numbers.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import strawberry

from db.engine import Database
from resolvers.auth import Principal
from resolvers.context import Context, Limits

__all__ = ["DEMO_END", "DEMO_START", "EXAMPLE_QUERY", "load_demo"]

DEMO_START = datetime.fromisoformat("2025-10-06T00:00:00+02:00")
DEMO_END = datetime.fromisoformat("2025-11-03T00:00:00+01:00")
QUARTER = timedelta(minutes=15)

EXAMPLE_QUERY = """{
  series(key: "demo:pv:power") {
    name unit
    aggregate(from: "2025-10-20T00:00:00+02:00", to: "2025-10-28T00:00:00+01:00",
              every: "P1D", timezone: "Europe/Berlin") {
      starts ends avg max count
    }
  }
}"""

_UPSERT = """mutation($input: SeriesInput!) { upsertSeries(input: $input) { key } }"""
_UPSERT_SITE = """mutation($input: SiteInput!) {
  upsertSite(input: $input) { site { key } userErrors { code message key } }
}"""
_INGEST = """mutation($input: IngestInput!) {
  ingest(input: $input) { accepted inserted updated unchanged userErrors { code message key } }
}"""


@dataclass(frozen=True)
class DemoSeries:
    key: str
    name: str
    kind: str
    unit: str
    resolution: str
    labels: dict[str, str]
    source: str
    integration: str | None = None


PV = DemoSeries(
    "demo:pv:power", "Demo site PV power", "POWER", "W", "PT15M",
    {"site": "demo", "role": "pv", "peak_kwp": "10"}, "demo",
)  # fmt: skip
PRICE_HOUR = DemoSeries(
    "smard:4169:DE-LU:hour", "Day-ahead price DE-LU (hour)", "PRICE", "EUR/MWh", "PT1H",
    {"filter": "4169", "region": "DE-LU", "resolution": "hour", "source": "smard"}, "smard",
)  # fmt: skip
PRICE_QUARTER = DemoSeries(
    "smard:4169:DE-LU:quarterhour", "Day-ahead price DE-LU (quarterhour)", "PRICE", "EUR/MWh",
    "PT15M", {"filter": "4169", "region": "DE-LU", "resolution": "quarterhour",
              "source": "smard"}, "smard",
)  # fmt: skip


LOAD = DemoSeries(
    "demo:load:power", "Demo site consumption", "POWER", "W", "PT15M",
    {"site": "demo", "role": "load"}, "demo", "TRAPEZOIDAL",
)  # fmt: skip
GRID = DemoSeries(
    "demo:grid:power", "Demo site grid meter (+ import, - export)", "POWER", "W", "PT15M",
    {"site": "demo", "role": "grid"}, "demo", "TRAPEZOIDAL",
)  # fmt: skip
# SMARD realised generation by fuel (filter -> name, typical October MWh per hour in DE:
# base, daily swing amplitude, weather-driven share).
GENERATION: dict[int, tuple[str, float, float, float]] = {
    1223: ("lignite", 9000, 1500, 0.25),
    4069: ("hard coal", 3500, 1500, 0.4),
    4071: ("natural gas", 6000, 2500, 0.4),
    1227: ("other conventional", 1400, 200, 0.05),
    1224: ("nuclear", 0, 0, 0),
    4066: ("biomass", 4400, 300, 0.02),
    1226: ("hydro", 1700, 300, 0.05),
    4067: ("wind onshore", 14000, 2000, 0.9),
    1225: ("wind offshore", 3500, 500, 0.8),
    4068: ("photovoltaics", 0, 0, 0),  # shaped by daylight below
    1228: ("other renewables", 180, 20, 0.02),
    4070: ("pumped storage", 900, 800, 0.3),  # stored energy: excluded from intensity
}


def _generation_series(filter_id: int, name: str) -> DemoSeries:
    return DemoSeries(
        f"smard:{filter_id}:DE:hour", f"Realised generation {name} (hour)", "ENERGY", "MWh",
        "PT1H", {"filter": str(filter_id), "region": "DE", "resolution": "hour",
                 "source": "smard"}, "smard",
    )  # fmt: skip


SITES = [
    {
        "key": "demo",
        "name": "Demo home: 10 kWp PV, dynamic tariff",
        "timezone": "Europe/Berlin",
        "pv": PV.key,
        "load": LOAD.key,
        "grid": GRID.key,
        "pvPeakKw": 10.0,
        "co2Region": "DE",
        "tariff": {
            "kind": "DYNAMIC",
            "priceSeries": PRICE_QUARTER.key,
            "surchargesCt": 17.85,  # docs/domain.md §3: grid fee, tax, concession, margin (net)
            "vat": 0.19,
            "feedInCt": 7.94,
        },
    },
    {
        "key": "demo-fixed",
        "name": "Demo home on a fixed tariff",
        "timezone": "Europe/Berlin",
        "pv": PV.key,
        "load": LOAD.key,
        "grid": GRID.key,
        "pvPeakKw": 10.0,
        "co2Region": "DE",
        "tariff": {"kind": "FIXED", "importPriceCt": 35.0, "feedInCt": 7.94},
    },
]


def _quarters() -> Iterator[datetime]:
    t = DEMO_START.astimezone(UTC)
    while t < DEMO_END:
        yield t
        t += QUARTER


def _local_hour(t: datetime) -> float:
    # Solar time is close enough to CET for a demo; the shape, not the minute, matters.
    return (t.hour + t.minute / 60 + 1.0) % 24


def pv_power(rng: random.Random) -> tuple[list[datetime], list[float]]:
    clearness: dict[int, float] = {}
    ts, values = [], []
    for t in _quarters():
        day = t.toordinal()
        if day not in clearness:
            clearness[day] = rng.uniform(0.25, 1.0)
        day_of_year = t.timetuple().tm_yday
        # Day length shrinks through October: ~11 h at the start, ~9.5 h at the end.
        half_day = 5.5 - (day_of_year - 279) * 0.05
        x = (_local_hour(t) + 0.5 * 0.25 - 12.5) / half_day
        shape = math.cos(x * math.pi / 2) ** 1.5 if abs(x) < 1 else 0.0
        watts = 10_000 * 0.55 * shape * clearness[day] * rng.uniform(0.85, 1.0)
        ts.append(t)
        values.append(round(watts, 1))
    return ts, values


def prices(rng: random.Random) -> tuple[tuple[list[datetime], list[float]], ...]:
    q_ts, q_values = [], []
    for t in _quarters():
        h = _local_hour(t)
        daily = 25 * math.exp(-(((h - 8) / 2) ** 2)) + 40 * math.exp(-(((h - 19) / 2.5) ** 2))
        solar_dip = -30 * math.exp(-(((h - 13) / 2.5) ** 2))
        q_ts.append(t)
        q_values.append(round(85 + daily + solar_dip + rng.gauss(0, 6), 2))
    # The hourly product is the mean of its four quarter-hours.
    h_ts = q_ts[::4]
    h_values = [round(sum(q_values[i : i + 4]) / 4, 2) for i in range(0, len(q_values), 4)]
    return (h_ts, h_values), (q_ts, q_values)


def load_power(rng: random.Random) -> tuple[list[datetime], list[float]]:
    """A household of about 3,800 kWh/yr: base load, morning and evening peaks, appliances."""
    ts, values = [], []
    for t in _quarters():
        h = _local_hour(t)
        watts = 180 + 350 * math.exp(-(((h - 7.5) / 1.2) ** 2))
        watts += 400 * math.exp(-(((h - 12.5) / 1.5) ** 2))  # home office, lunch
        watts += 900 * math.exp(-(((h - 19.5) / 1.8) ** 2))
        if 7 <= h < 23 and rng.random() < 0.06:
            watts += rng.uniform(1200, 2800)  # kettle, oven, washing machine
        ts.append(t)
        values.append(round(watts * rng.uniform(0.9, 1.1), 1))
    return ts, values


def grid_power(
    pv: tuple[list[datetime], list[float]], load: tuple[list[datetime], list[float]]
) -> tuple[list[datetime], list[float]]:
    """The grid meter closes the balance sample by sample: + import, - export."""
    return pv[0], [round(c - p, 1) for p, c in zip(pv[1], load[1], strict=True)]


def generation(rng: random.Random) -> dict[int, tuple[list[datetime], list[float]]]:
    hours = [t for t in _quarters() if t.minute == 0]
    weather: dict[int, float] = {}
    out: dict[int, tuple[list[datetime], list[float]]] = {f: ([], []) for f in GENERATION}
    for t in hours:
        day = t.toordinal()
        if day not in weather:
            weather[day] = rng.uniform(0.2, 1.8)  # windy vs calm days
        h = _local_hour(t)
        daytime = math.exp(-(((h - 13) / 2.8) ** 2))
        for fid, (_, base, swing, share) in GENERATION.items():
            if fid == 4068:
                value = 22_000 * daytime * rng.uniform(0.4, 1.0)
            else:
                wind = weather[day] if fid in (4067, 1225) else 2 - weather[day]
                value = (base + swing * math.sin((h - 6) / 24 * 2 * math.pi)) * (
                    1 - share + share * wind
                )
                value *= rng.uniform(0.95, 1.05)
            out[fid][0].append(t)
            out[fid][1].append(round(max(value, 0.0), 1))
    return out


async def _run(schema: strawberry.Schema, context: Context, query: str, input: Any) -> Any:
    result = await schema.execute(query, variable_values={"input": input}, context_value=context)
    if result.errors:
        raise RuntimeError(f"demo load failed: {result.errors[0].message}")
    return result.data


def _iso(ts: list[datetime]) -> list[str]:
    return [t.isoformat() for t in ts]


async def load_demo(schema: strawberry.Schema, database: Database) -> int:
    """Create the demo series and ingest their samples; return the number of points sent."""
    context = Context(
        database=database, limits=Limits(), principal=Principal.anonymous_dev(), request_id="demo"
    )
    rng = random.Random(20251026)
    pv = pv_power(rng)
    hourly, quarterly = prices(rng)
    site_rng = random.Random(4)  # separate stream: the series above stay as they were
    load = load_power(site_rng)
    loads: list[tuple[DemoSeries, tuple[list[datetime], list[float]]]] = [
        (PV, pv),
        (PRICE_HOUR, hourly),
        (PRICE_QUARTER, quarterly),
        (LOAD, load),
        (GRID, grid_power(pv, load)),
    ]
    for fid, columns in generation(site_rng).items():
        loads.append((_generation_series(fid, GENERATION[fid][0]), columns))
    sent = 0
    for series, (ts, values) in loads:
        upsert: dict[str, Any] = {
            "key": series.key,
            "name": series.name,
            "kind": series.kind,
            "unit": series.unit,
            "timezone": "Europe/Berlin",
            "resolution": series.resolution,
            "labels": series.labels,
            "source": series.source,
        }
        if series.integration is not None:
            upsert["integration"] = series.integration
        await _run(schema, context, _UPSERT, upsert)
        data = await _run(
            schema,
            context,
            _INGEST,
            {"series": [{"key": series.key, "timestamps": _iso(ts), "values": values}]},
        )
        errors = data["ingest"]["userErrors"]
        if errors:
            raise RuntimeError(f"demo ingest rejected: {errors}")
        sent += len(ts)
    for site in SITES:
        data = await _run(schema, context, _UPSERT_SITE, site)
        if data["upsertSite"]["userErrors"]:
            raise RuntimeError(f"demo site rejected: {data['upsertSite']['userErrors']}")
    return sent
