-- Tenants (docs/security.md, Tenants). A tenant comes into being with its first key. Keys,
-- series and sites with tenant NULL belong to the platform: operators, the SMARD scraper and
-- the market data every tenant may read. Keys of series and sites are unique per tenant, the
-- platform counting as one tenant (NULLS NOT DISTINCT, PostgreSQL 15).

CREATE TABLE IF NOT EXISTS tenants (
    name        text        PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS tenant text REFERENCES tenants (name);
ALTER TABLE series ADD COLUMN IF NOT EXISTS tenant text REFERENCES tenants (name);
ALTER TABLE sites ADD COLUMN IF NOT EXISTS tenant text REFERENCES tenants (name);

-- (key, tenant): lookups by key use the leading column; the tenant filter follows.
ALTER TABLE series DROP CONSTRAINT IF EXISTS series_key_key;
ALTER TABLE series ADD CONSTRAINT series_key_tenant UNIQUE NULLS NOT DISTINCT (key, tenant);
ALTER TABLE sites DROP CONSTRAINT IF EXISTS sites_key_key;
ALTER TABLE sites ADD CONSTRAINT sites_key_tenant UNIQUE NULLS NOT DISTINCT (key, tenant);

-- Scenarios and sweeps belong to the tenant of their site; their keys are unique per tenant.
ALTER TABLE scenarios ADD COLUMN IF NOT EXISTS tenant text REFERENCES tenants (name);
ALTER TABLE scenarios DROP CONSTRAINT IF EXISTS scenarios_pkey;
ALTER TABLE scenarios ADD COLUMN IF NOT EXISTS id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
ALTER TABLE scenarios ADD CONSTRAINT scenarios_key_tenant UNIQUE NULLS NOT DISTINCT (key, tenant);
ALTER TABLE scenario_sweeps ADD COLUMN IF NOT EXISTS tenant text REFERENCES tenants (name);
ALTER TABLE scenario_sweeps DROP CONSTRAINT IF EXISTS scenario_sweeps_pkey;
ALTER TABLE scenario_sweeps
    ADD COLUMN IF NOT EXISTS id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
ALTER TABLE scenario_sweeps
    ADD CONSTRAINT scenario_sweeps_key_tenant UNIQUE NULLS NOT DISTINCT (key, tenant);
