"""SQLAlchemy Core descriptions of every table the migrations create (db/migrations/), checked
column by column against the migrated database by tests/db/test_tables.py. Constraints other
than keys (CHECKs, the SITES consistency rules) live in the migrations only."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    DateTime,
    Double,
    Identity,
    Integer,
    Interval,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

__all__ = [
    "api_keys",
    "audit_log",
    "emission_factors",
    "metadata",
    "rollup_pending",
    "samples",
    "scenario_sweeps",
    "scenarios",
    "schema_migrations",
    "series",
    "sites",
    "tenants",
]

metadata = MetaData()

# Server defaults are written the way PostgreSQL reports them (information_schema), so the
# test can compare them textually.
_NOW = text("now()")
_EMPTY_OBJECT = text("'{}'::jsonb")
_UTC = text("'UTC'::text")


def _timestamps() -> list[Column[object]]:
    return [
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
    ]


# db/migrate.py creates it before the first migration.
schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("checksum", Text, nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
)

# 0080: a tenant comes into being with its first key (docs/security.md, Tenants).
tenants = Table(
    "tenants",
    metadata,
    Column("name", Text, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
)

# 0001, 0010, 0080 (tenant: NULL = platform-owned; keys unique per tenant, NULLS NOT DISTINCT)
series = Table(
    "series",
    metadata,
    Column("id", Integer, Identity(always=True), primary_key=True),
    Column("key", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("timezone", Text, nullable=False, server_default=_UTC),
    Column("resolution", Text),
    Column("labels", JSONB, nullable=False, server_default=_EMPTY_OBJECT),
    Column("source", Text),
    Column("integration", Text),
    Column("max_gap", Interval),
    Column("meter_modulus", Double),
    *_timestamps(),
    Column("tenant", Text),
    UniqueConstraint("key", "tenant", name="series_key_tenant", postgresql_nulls_not_distinct=True),
)

# 0001 (a hypertable on TimescaleDB, 0002)
samples = Table(
    "samples",
    metadata,
    Column("series_id", Integer, primary_key=True, autoincrement=False),
    Column("ts", DateTime(timezone=True), primary_key=True),
    Column("value", Double, nullable=False),
)

# 0011, 0060, 0080: the series keys of each role, the tariff and the PV orientation of a
# site, and its tenant (NULL = platform-owned; keys unique per tenant, NULLS NOT DISTINCT).
sites = Table(
    "sites",
    metadata,
    Column("id", Integer, Identity(always=True), primary_key=True),
    Column("key", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("timezone", Text, nullable=False, server_default=_UTC),
    Column("pv_key", Text),
    Column("load_key", Text),
    Column("grid_import_key", Text),
    Column("grid_export_key", Text),
    Column("grid_key", Text),  # signed: + import, - export (OpenEMS)
    Column("battery_charge_key", Text),
    Column("battery_discharge_key", Text),
    Column("battery_key", Text),  # signed: + discharge, - charge (OpenEMS)
    Column("pv_peak_kw", Double),
    Column("tariff", Text, nullable=False),
    Column("import_price_ct", Double),
    Column("feed_in_ct", Double, nullable=False, server_default=text("0")),
    Column("price_key", Text),
    Column("surcharges_ct", Double),
    Column("vat", Double),
    Column("co2_region", Text, nullable=False, server_default=text("'DE'::text")),
    Column("co2_intensity", Double),
    Column("labels", JSONB, nullable=False, server_default=_EMPTY_OBJECT),
    *_timestamps(),
    Column("latitude", Double),
    Column("longitude", Double),
    Column("tilt", Double),
    Column("azimuth", Double),
    Column("tenant", Text),
    UniqueConstraint("key", "tenant", name="sites_key_tenant", postgresql_nulls_not_distinct=True),
)

# 0012: g CO2/kWh per SMARD generation filter, LIFECYCLE and DIRECT.
emission_factors = Table(
    "emission_factors",
    metadata,
    Column("family", Text, primary_key=True),
    Column("filter", Integer, primary_key=True, autoincrement=False),
    Column("fuel", Text, nullable=False),
    Column("g_per_kwh", Double, nullable=False),
)

# 0030, 0080: only the SHA-256 of a token is stored; tenant NULL = a platform key.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Text, primary_key=True),
    Column("token_sha256", LargeBinary, nullable=False, unique=True),
    Column("name", Text, nullable=False, server_default=text("''::text")),
    Column("scopes", ARRAY(Text), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
    Column("expires_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("tenant", Text),
)

# 0061: scenario jobs claimed by the scenario sidecar, and the sweeps it writes.
# 0080: tenant NULL = platform-owned; keys unique per tenant (NULLS NOT DISTINCT).
scenarios = Table(
    "scenarios",
    metadata,
    Column("key", Text, nullable=False),
    Column("site_key", Text, nullable=False),
    Column("period_from", DateTime(timezone=True), nullable=False),
    Column("period_to", DateTime(timezone=True), nullable=False),
    Column("pv_kwp", Double),
    Column("battery", JSONB),
    Column("strategy", Text, nullable=False),
    Column("tariff", JSONB),
    Column("status", Text, nullable=False, server_default=text("'PENDING'::text")),
    Column("message", Text),
    Column("revision", Integer, nullable=False, server_default=text("1")),
    Column("claimed_by", Text),
    Column("claimed_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    *_timestamps(),
    Column("tenant", Text),
    Column("id", Integer, Identity(always=True), primary_key=True),
    UniqueConstraint(
        "key", "tenant", name="scenarios_key_tenant", postgresql_nulls_not_distinct=True
    ),
)

scenario_sweeps = Table(
    "scenario_sweeps",
    metadata,
    Column("key", Text, nullable=False),
    Column("site_key", Text, nullable=False),
    Column("period_from", DateTime(timezone=True), nullable=False),
    Column("period_to", DateTime(timezone=True), nullable=False),
    Column("cells", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
    Column("tenant", Text),
    Column("id", Integer, Identity(always=True), primary_key=True),
    UniqueConstraint(
        "key", "tenant", name="scenario_sweeps_key_tenant", postgresql_nulls_not_distinct=True
    ),
)


# 0040: windows written since their rollups were last refreshed (docs/timescaledb.md).
rollup_pending = Table(
    "rollup_pending",
    metadata,
    Column(
        "id",
        BigInteger,
        primary_key=True,
        server_default=text("nextval('rollup_pending_id_seq'::regclass)"),
    ),
    Column("series_id", Integer, nullable=False),
    Column("lo", DateTime(timezone=True), nullable=False),
    Column("hi", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
)

# 0070: the append-only audit trail (docs/security.md).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=_NOW),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("tenant", Text),  # the tenant acted for or on; NULL = the platform
    Column("request_id", Text),
    Column("details", JSONB, nullable=False, server_default=_EMPTY_OBJECT),
)
