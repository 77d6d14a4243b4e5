"""Scenarios and their computation state; sizing sweeps (docs/scenarios.md).

Several scenario services may poll at once: `claim_scenario` hands each pending scenario to
exactly one of them (row lock, SKIP LOCKED), and `finish_scenario` only lands for the
revision that was claimed, so a scenario changed while it ran is computed again.

Scenarios and sweeps belong to the tenant that stored them and are seen only by it; a
scenario service claims the scenarios of the tenant it acts for (db/tenancy.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from db import tenancy
from db.engine import Database

__all__ = [
    "ScenarioRecord",
    "ScenarioValues",
    "SweepRecord",
    "claim_scenario",
    "fetch_scenario",
    "fetch_sweep",
    "finish_scenario",
    "upsert_scenario",
    "upsert_sweep",
]


@dataclass(frozen=True, kw_only=True)
class ScenarioValues:
    """The inputs of a scenario, as stored."""

    key: str
    site_key: str
    period_from: datetime
    period_to: datetime
    strategy: str  # SELF_CONSUMPTION | COST_OPTIMAL
    pv_kwp: float | None = None
    battery: Mapping[str, Any] | None = None
    tariff: Mapping[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class ScenarioRecord(ScenarioValues):
    status: str
    message: str | None
    revision: int
    claimed_by: str | None
    claimed_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime


_INPUTS = [f.name for f in fields(ScenarioValues)]
_COLUMNS = [f.name for f in fields(ScenarioRecord)]
_RETURNING = "RETURNING " + ", ".join(_COLUMNS)
_JSON = ("battery", "tariff")


def _record(row: Any) -> ScenarioRecord:
    return ScenarioRecord(**dict(row._mapping))


async def upsert_scenario(database: Database, values: ScenarioValues) -> ScenarioRecord:
    """Insert, or replace the inputs; a real change sets the scenario PENDING at a new
    revision, an identical upsert leaves status and results alone."""
    changed = " OR ".join(f"scenarios.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in _INPUTS[1:])
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _INPUTS[1:])
    stmt = text(
        f"INSERT INTO scenarios ({', '.join(_INPUTS)}, tenant) "
        f"VALUES ({', '.join(':' + c for c in _INPUTS)}, :tenant) "
        f"ON CONFLICT (key, tenant) DO UPDATE SET {updates}, status = 'PENDING', message = NULL, "
        "revision = scenarios.revision + 1, claimed_by = NULL, claimed_at = NULL, "
        f"finished_at = NULL, updated_at = now() WHERE {changed} {_RETURNING}"
    ).bindparams(*(bindparam(c, type_=JSONB(none_as_null=True)) for c in _JSON))
    params = {c: getattr(values, c) for c in _INPUTS}
    params["tenant"] = tenancy.tenant_param()
    for c in _JSON:
        params[c] = dict(params[c]) if params[c] is not None else None
    async with database.begin() as conn:
        row = (await conn.execute(stmt, params)).first()
        if row is None:  # unchanged: nothing was written
            row = (
                await conn.execute(
                    text(
                        f"SELECT {', '.join(_COLUMNS)} FROM scenarios "
                        f"WHERE key = :key AND {tenancy.owned_sql()}"
                    ),
                    {"key": values.key, "tenant": tenancy.tenant_param()},
                )
            ).one()
    return _record(row)


async def fetch_scenario(database: Database, key: str) -> ScenarioRecord | None:
    async with database.connect() as conn:
        row = (
            await conn.execute(
                text(
                    f"SELECT {', '.join(_COLUMNS)} FROM scenarios "
                    f"WHERE key = :key AND {tenancy.owned_sql()}"
                ),
                {"key": key, "tenant": tenancy.tenant_param()},
            )
        ).first()
    return _record(row) if row is not None else None


async def claim_scenario(
    database: Database, *, worker: str, lease_seconds: float
) -> ScenarioRecord | None:
    """Mark the oldest pending scenario (or one whose claim is older than the lease: its
    service died) RUNNING for `worker` and return it; None when there is nothing to do."""
    stmt = text(
        "UPDATE scenarios SET status = 'RUNNING', claimed_by = :worker, claimed_at = now(), "
        "message = NULL WHERE id = ("
        "  SELECT id FROM scenarios WHERE (status = 'PENDING' OR (status = 'RUNNING' "
        f"  AND claimed_at < now() - make_interval(secs => :lease))) AND {tenancy.owned_sql()}"
        f"  ORDER BY updated_at, key LIMIT 1 FOR UPDATE SKIP LOCKED) {_RETURNING}"
    )
    params = {"worker": worker, "lease": lease_seconds, "tenant": tenancy.tenant_param()}
    async with database.begin() as conn:
        row = (await conn.execute(stmt, params)).first()
    return _record(row) if row is not None else None


async def finish_scenario(
    database: Database, *, key: str, revision: int, status: str, message: str | None
) -> ScenarioRecord | None:
    """DONE or FAILED for the claimed revision; None if that claim no longer holds."""
    stmt = text(
        "UPDATE scenarios SET status = :status, message = :message, finished_at = now() "
        "WHERE key = :key AND revision = :revision AND status = 'RUNNING' "
        f"AND {tenancy.owned_sql()} {_RETURNING}"
    )
    params = {
        "key": key,
        "revision": revision,
        "status": status,
        "message": message,
        "tenant": tenancy.tenant_param(),
    }
    async with database.begin() as conn:
        row = (await conn.execute(stmt, params)).first()
    return _record(row) if row is not None else None


@dataclass(frozen=True, kw_only=True)
class SweepRecord:
    key: str
    site_key: str
    period_from: datetime
    period_to: datetime
    cells: Sequence[Mapping[str, Any]]
    updated_at: datetime | None = None


async def upsert_sweep(database: Database, sweep: SweepRecord) -> SweepRecord:
    stmt = text(
        "INSERT INTO scenario_sweeps (key, site_key, period_from, period_to, cells, tenant) "
        "VALUES (:key, :site_key, :period_from, :period_to, :cells, :tenant) "
        "ON CONFLICT (key, tenant) DO UPDATE "
        "SET site_key = EXCLUDED.site_key, period_from = EXCLUDED.period_from, "
        "period_to = EXCLUDED.period_to, cells = EXCLUDED.cells, updated_at = now() "
        "RETURNING key, site_key, period_from, period_to, cells, updated_at"
    ).bindparams(bindparam("cells", type_=JSONB))
    params = {
        "key": sweep.key,
        "site_key": sweep.site_key,
        "period_from": sweep.period_from,
        "period_to": sweep.period_to,
        "cells": [dict(c) for c in sweep.cells],
        "tenant": tenancy.tenant_param(),
    }
    async with database.begin() as conn:
        row = (await conn.execute(stmt, params)).one()
    return SweepRecord(**dict(row._mapping))


async def fetch_sweep(database: Database, key: str) -> SweepRecord | None:
    stmt = text(
        "SELECT key, site_key, period_from, period_to, cells, updated_at "
        f"FROM scenario_sweeps WHERE key = :key AND {tenancy.owned_sql()}"
    )
    async with database.connect() as conn:
        row = (await conn.execute(stmt, {"key": key, "tenant": tenancy.tenant_param()})).first()
    return SweepRecord(**dict(row._mapping)) if row is not None else None
