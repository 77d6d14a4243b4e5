"""Every KPI statement rendered for fixed arguments and compared with its snapshot in
tests/db/sql/, so a change to the SQL shows up in review as a diff of a readable file.

After an intended change, rewrite the snapshots and review the diff:

    UPDATE_SQL_SNAPSHOTS=1 .venv/bin/pytest tests/db/test_sql_snapshots.py

(docs/storage.md). The plain-PostgreSQL statements are also planned by the test database
(EXPLAIN), so a snapshot is never a statement PostgreSQL would refuse.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from starlette.applications import Starlette

from db.energy import Method, Source, energy_statement
from db.intervals import parse_every
from db.kpi import KpiPlan, site_kpi_statement
from db.market import intensity_statement

SNAPSHOTS = Path(__file__).parent / "sql"
UPDATE = os.environ.get("UPDATE_SQL_SNAPSHOTS") == "1"

BERLIN = "Europe/Berlin"
# A DST week in Berlin (the 23 h day 2026-03-29 inside it).
START = datetime(2026, 3, 27, tzinfo=ZoneInfo(BERLIN))
END = datetime(2026, 3, 31, tzinfo=ZoneInfo(BERLIN))
PT15M = timedelta(minutes=15)

PV = Source(1, Method.TRAPEZOIDAL, 0.001, timedelta(minutes=30), PT15M)  # W
GRID = Source(2, Method.TRAPEZOIDAL, 0.001, timedelta(minutes=30), PT15M)  # W, + import
IMPORT_METER = Source(3, Method.METER, 1.0, None, PT15M, 1e6)  # kWh register
EXPORT_METER = Source(4, Method.METER, 1.0, None, PT15M, 1e6)
PRICE = Source(10, Method.HOLD, 1.0, timedelta(hours=2), PT15M)  # EUR/MWh, quarter-hourly
LIGNITE = Source(20, Method.ENERGY, 1000.0, None, PT15M)  # MWh per quarter-hour
SOLAR = Source(21, Method.ENERGY, 1000.0, None, PT15M)
FUELS = [(LIGNITE, 1150.0), (SOLAR, 0.0)]

DYNAMIC_PV_GRID = KpiPlan(
    roles={"pv": PV, "grid": GRID},
    tariff="DYNAMIC",
    import_price_ct=None,
    feed_in_ct=8.0,
    surcharges_ct=18.5,
    vat=0.19,
    price=PRICE,
    intensity_fixed=None,
    intensity=FUELS,
)
FIXED_METERS = KpiPlan(
    roles={"pv": PV, "grid_import": IMPORT_METER, "grid_export": EXPORT_METER},
    tariff="FIXED",
    import_price_ct=32.0,
    feed_in_ct=8.0,
    surcharges_ct=None,
    vat=None,
    price=None,
    intensity_fixed=380.0,
    intensity=[],
)


@dataclass(frozen=True)
class Case:
    name: str
    arguments: str  # what the statement is rendered for, in words
    render: Callable[[], tuple[str, dict[str, Any]]]
    timescaledb: bool = False


def _kpis(plan: KpiPlan, every: str, timescaledb: bool) -> Callable[[], tuple[str, dict[str, Any]]]:
    def render() -> tuple[str, dict[str, Any]]:
        sql, params, _ = site_kpi_statement(
            plan,
            start=START,
            end=END,
            step=parse_every("PT15M"),
            every=parse_every(every),
            timezone=BERLIN,
            timescaledb=timescaledb,
        )
        return sql, params

    return render


def _energy(source: Source, every: str, timescaledb: bool) -> Callable[[], tuple[str, Any]]:
    return lambda: energy_statement(
        source,
        start=START,
        end=END,
        width=parse_every(every),
        timezone=BERLIN,
        timescaledb=timescaledb,
    )


def _intensity(every: str, timescaledb: bool) -> Callable[[], tuple[str, dict[str, Any]]]:
    return lambda: intensity_statement(
        FUELS,
        start=START,
        end=END,
        width=parse_every(every),
        timezone=BERLIN,
        timescaledb=timescaledb,
    )


CASES = [
    Case(
        "site_kpis",
        "pv + grid (POWER, W), DYNAMIC tariff (quarter-hour prices), intensity from two fuel "
        "series; PT15M steps, P1D buckets in Europe/Berlin; plain PostgreSQL",
        _kpis(DYNAMIC_PV_GRID, "P1D", False),
    ),
    Case(
        "site_kpis_timescaledb",
        "as site_kpis, on TimescaleDB (time_bucket instead of date_trunc / date_bin)",
        _kpis(DYNAMIC_PV_GRID, "P1D", True),
        timescaledb=True,
    ),
    Case(
        "site_kpis_fixed_meters",
        "pv (POWER) + grid_import / grid_export registers (METER), FIXED tariff, fixed "
        "intensity; PT15M steps, PT1H buckets in Europe/Berlin; plain PostgreSQL",
        _kpis(FIXED_METERS, "PT1H", False),
    ),
    Case(
        "energy_meter",
        "one METER source (kWh register), P1D buckets in Europe/Berlin; plain PostgreSQL",
        _energy(IMPORT_METER, "P1D", False),
    ),
    Case(
        "energy_power_timescaledb",
        "one POWER source (W, trapezoidal), PT1H buckets; TimescaleDB",
        _energy(PV, "PT1H", True),
        timescaledb=True,
    ),
    Case(
        "intensity",
        "grid CO2 intensity from two fuel series, P1D buckets in Europe/Berlin; plain PostgreSQL",
        _intensity("P1D", False),
    ),
    Case(
        "market_price",
        "marketPrice: one quarter-hourly PRICE source held (HOLD) until the next value, PT1H "
        "buckets; plain PostgreSQL (also the statement of a POWER source's energy)",
        _energy(PRICE, "PT1H", False),
    ),
    Case(
        "intensity_timescaledb",
        "as intensity, PT1H buckets; TimescaleDB",
        _intensity("PT1H", True),
        timescaledb=True,
    ),
]

_BIND = re.compile(r"(?<![:\w]):(\w+)")


def _value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"{value.total_seconds():g} s"
    return repr(value)


def render(case: Case) -> str:
    sql, params = case.render()
    lines = [
        f"-- {case.name}: {case.arguments}",
        "-- Generated by tests/db/test_sql_snapshots.py; UPDATE_SQL_SNAPSHOTS=1 rewrites it.",
        "-- Bind parameters:",
        *(f"--   :{name} = {_value(params[name])}" for name in sorted(params)),
        "",
        sql.strip(),
        "",
    ]
    return "\n".join(lines)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_statement_matches_its_snapshot(case: Case) -> None:
    path = SNAPSHOTS / f"{case.name}.sql"
    rendered = render(case)
    if UPDATE:
        path.write_text(rendered)
    assert path.exists(), f"no snapshot {path}: run with UPDATE_SQL_SNAPSHOTS=1"
    assert rendered == path.read_text(), (
        f"{case.name} changed: review, then UPDATE_SQL_SNAPSHOTS=1 rewrites {path}"
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_bind_parameter_is_given(case: Case) -> None:
    sql, params = case.render()
    assert set(_BIND.findall(sql)) == set(params)


def test_every_snapshot_has_a_case() -> None:
    assert {p.stem for p in SNAPSHOTS.glob("*.sql")} == {c.name for c in CASES}


@pytest.mark.parametrize("case", [c for c in CASES if not c.timescaledb], ids=lambda c: c.name)
async def test_postgresql_plans_the_statement(app: Starlette, case: Case) -> None:
    sql, params = case.render()
    async with app.state.database.connect() as conn:
        plan = (await conn.execute(text(f"EXPLAIN {sql}"), params)).scalars().all()
    assert plan and plan[0]
