"""Sites: series grouped by role, with a time zone and a tariff (docs/domain.md §3).

A site is seen only by its own tenant (platform sites only by the platform); unlike market
series, sites are never shared (db/tenancy.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from db import tenancy
from db.engine import Database
from db.tables import sites

__all__ = ["ROLES", "SiteRecord", "fetch_site", "list_sites", "upsert_site"]

# Role -> column. Signed series: grid + import / - export, battery + discharge / - charge.
ROLES = (
    "pv",
    "load",
    "grid_import",
    "grid_export",
    "grid",
    "battery_charge",
    "battery_discharge",
    "battery",
)


@dataclass(frozen=True, kw_only=True)
class SiteRecord:
    key: str
    name: str
    timezone: str
    pv: str | None = None
    load: str | None = None
    grid_import: str | None = None
    grid_export: str | None = None
    grid: str | None = None
    battery_charge: str | None = None
    battery_discharge: str | None = None
    battery: str | None = None
    pv_peak_kw: float | None = None  # DC nameplate, kWp
    latitude: float | None = None  # PV location and orientation (pvlib conventions)
    longitude: float | None = None
    tilt: float | None = None  # degrees from horizontal
    azimuth: float | None = None  # degrees clockwise from north, 180 = south
    tariff: str = "FIXED"  # FIXED | DYNAMIC
    import_price_ct: float | None = None  # FIXED, gross ct/kWh
    feed_in_ct: float = 0.0
    price_key: str | None = None  # DYNAMIC, EUR/MWh
    surcharges_ct: float | None = None  # DYNAMIC, net ct/kWh
    vat: float | None = None  # DYNAMIC, fraction
    co2_region: str = "DE"
    co2_intensity: float | None = None  # fixed g/kWh instead of SMARD generation
    labels: Mapping[str, Any] | None = None
    tenant: str | None = None  # None: platform-owned; set by upsert_site (db/tenancy.py)

    def roles(self) -> dict[str, str]:
        """Role -> series key, for the roles that are set."""
        return {r: k for r in ROLES if (k := getattr(self, r)) is not None}


def _column(name: str) -> str:
    return f"{name}_key" if name in ROLES else name


_FIELDS = [f.name for f in fields(SiteRecord)]
_COLUMNS = [sites.c[_column(n)].label(n) for n in _FIELDS]


def _record(row: Any) -> SiteRecord:
    return SiteRecord(**dict(row._mapping))


async def upsert_site(database: Database, site: SiteRecord) -> SiteRecord:
    """Insert or replace the whole site definition (roles and tariff are one unit) of the
    current tenant."""
    values = {_column(n): getattr(site, n) for n in _FIELDS}
    values["labels"] = dict(site.labels or {})
    values["tenant"] = tenancy.current().tenant
    stmt = insert(sites).values(values)
    updates: dict[str, Any] = {c: stmt.excluded[c] for c in values if c not in ("key", "tenant")}
    updates["updated_at"] = func.now()
    upsert = stmt.on_conflict_do_update(index_elements=[sites.c.key, sites.c.tenant], set_=updates)
    async with database.begin() as conn:
        row = (await conn.execute(upsert.returning(*_COLUMNS))).one()
    return _record(row)


async def fetch_site(database: Database, key: str) -> SiteRecord | None:
    async with database.connect() as conn:
        stmt = select(*_COLUMNS).where(sites.c.key == key, tenancy.owned(sites))
        row = (await conn.execute(stmt)).first()
    return _record(row) if row is not None else None


async def list_sites(database: Database, *, limit: int) -> list[SiteRecord]:
    stmt = select(*_COLUMNS).where(tenancy.owned(sites)).order_by(sites.c.key).limit(limit)
    async with database.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    return [_record(r) for r in rows]
