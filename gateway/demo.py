"""A deterministic demo data set, loaded through the public GraphQL mutations.

Four weeks around the October 2025 DST change (2025-10-06 .. 2025-11-03, Europe/Berlin):
a 10 kWp PV site's 15-minute power and day-ahead prices at hour and quarter-hour
resolution (15-minute products exist since 2025-10-01). Re-loading is idempotent.
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
    sent = 0
    for series, (ts, values) in ((PV, pv), (PRICE_HOUR, hourly), (PRICE_QUARTER, quarterly)):
        await _run(
            schema,
            context,
            _UPSERT,
            {
                "key": series.key,
                "name": series.name,
                "kind": series.kind,
                "unit": series.unit,
                "timezone": "Europe/Berlin",
                "resolution": series.resolution,
                "labels": series.labels,
                "source": series.source,
            },
        )
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
    return sent
