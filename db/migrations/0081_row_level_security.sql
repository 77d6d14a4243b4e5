-- Row-level security (docs/security.md, Row-level security): the tenant rule of the db layer
-- (db/tenancy.py), enforced a second time by PostgreSQL for the role requests run as.
--
-- Requests run as role gateway_tenant (db/engine.py sets it per connection, with the tenant
-- in setting gateway.tenant; '' is the platform). The login role must be a member of it
-- (superusers are). Policies bind only gateway_tenant: migrations, the CLI and background
-- work run as the login role, which owns the tables and is not bound (no FORCE). A session
-- that forgot the tenant sees platform rows only: current_setting(..., true) is then NULL
-- or '', which no tenant row matches.

DO $$
BEGIN
    CREATE ROLE gateway_tenant NOLOGIN;
EXCEPTION
    -- Roles are per cluster: another database (or a concurrent migration) created it.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- The login role the gateway runs as must be able to switch to it. Superusers can; a login
-- role with CREATEROLE (needed above when the role did not exist) can grant itself.
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT gateway_tenant TO %I', current_user);
    END IF;
END
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON series, samples, sites, rollup_pending,
    scenarios, scenario_sweeps TO gateway_tenant;
GRANT SELECT ON emission_factors, tenants TO gateway_tenant;
GRANT SELECT, INSERT ON audit_log TO gateway_tenant;  -- SELECT: INSERT ... RETURNING
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO gateway_tenant;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO gateway_tenant;
GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA public TO gateway_tenant;

-- TimescaleDB continuous aggregates (migration 0020) do not support row-level security;
-- they are read by series id only, and ids come from scoped series lookups.
DO $$
DECLARE
    view_name text;
BEGIN
    FOR view_name IN
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm') AND c.relname LIKE 'samples\_%'
    LOOP
        EXECUTE format('GRANT SELECT ON %I TO gateway_tenant', view_name);
    END LOOP;
END
$$;

-- series: read own and platform rows; write own rows. Policies are per command (not FOR ALL,
-- which would add its own-rows test to every read as a second alternative).
ALTER TABLE series ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS series_read ON series;
CREATE POLICY series_read ON series FOR SELECT TO gateway_tenant
    USING (tenant IS NULL OR tenant = current_setting('gateway.tenant', true));
DROP POLICY IF EXISTS series_insert ON series;
CREATE POLICY series_insert ON series FOR INSERT TO gateway_tenant
    WITH CHECK (tenant IS NOT DISTINCT FROM nullif(current_setting('gateway.tenant', true), ''));
DROP POLICY IF EXISTS series_update ON series;
CREATE POLICY series_update ON series FOR UPDATE TO gateway_tenant
    USING (tenant IS NOT DISTINCT FROM nullif(current_setting('gateway.tenant', true), ''))
    WITH CHECK (tenant IS NOT DISTINCT FROM nullif(current_setting('gateway.tenant', true), ''));
DROP POLICY IF EXISTS series_delete ON series;
CREATE POLICY series_delete ON series FOR DELETE TO gateway_tenant
    USING (tenant IS NOT DISTINCT FROM nullif(current_setting('gateway.tenant', true), ''));

-- sites: own rows only (sites are never shared).
ALTER TABLE sites ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS sites_own ON sites;
CREATE POLICY sites_own ON sites FOR ALL TO gateway_tenant
    USING (tenant IS NOT DISTINCT FROM nullif(current_setting('gateway.tenant', true), ''))
    WITH CHECK (tenant IS NOT DISTINCT FROM nullif(current_setting('gateway.tenant', true), ''));

-- samples: the rows of the series the session may read or write. The subqueries are bound
-- by the series policies above and run once per statement (a hashed subplan: one hash probe
-- per row, measured in docs/security.md), not once per row. The write policies are per
-- command, not FOR ALL, so that reads are checked against one subplan, not two.
-- TimescaleDB refuses row-level security on a hypertable with its columnstore (compression)
-- enabled, as `samples` is there (migration 0002): the policies are created but not enforced,
-- and the application's tenant predicate is the only guard on samples (docs/security.md).
DO $$
BEGIN
    ALTER TABLE samples ENABLE ROW LEVEL SECURITY;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'samples: row-level security not enabled (compressed hypertable)';
END
$$;
DROP POLICY IF EXISTS samples_read ON samples;
CREATE POLICY samples_read ON samples FOR SELECT TO gateway_tenant
    USING (series_id IN (SELECT id FROM series));
DROP POLICY IF EXISTS samples_insert ON samples;
CREATE POLICY samples_insert ON samples FOR INSERT TO gateway_tenant
    WITH CHECK (series_id IN (SELECT id FROM series WHERE tenant IS NOT DISTINCT FROM
                              nullif(current_setting('gateway.tenant', true), '')));
DROP POLICY IF EXISTS samples_update ON samples;
CREATE POLICY samples_update ON samples FOR UPDATE TO gateway_tenant
    USING (series_id IN (SELECT id FROM series WHERE tenant IS NOT DISTINCT FROM
                         nullif(current_setting('gateway.tenant', true), '')))
    WITH CHECK (series_id IN (SELECT id FROM series WHERE tenant IS NOT DISTINCT FROM
                              nullif(current_setting('gateway.tenant', true), '')));
DROP POLICY IF EXISTS samples_delete ON samples;
CREATE POLICY samples_delete ON samples FOR DELETE TO gateway_tenant
    USING (series_id IN (SELECT id FROM series WHERE tenant IS NOT DISTINCT FROM
                         nullif(current_setting('gateway.tenant', true), '')));

-- scenarios and sweeps: own rows only, like sites.
ALTER TABLE scenarios ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS scenarios_own ON scenarios;
CREATE POLICY scenarios_own ON scenarios FOR ALL TO gateway_tenant
    USING (tenant IS NOT DISTINCT FROM nullif(current_setting('gateway.tenant', true), ''))
    WITH CHECK (tenant IS NOT DISTINCT FROM nullif(current_setting('gateway.tenant', true), ''));
ALTER TABLE scenario_sweeps ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS scenario_sweeps_own ON scenario_sweeps;
CREATE POLICY scenario_sweeps_own ON scenario_sweeps FOR ALL TO gateway_tenant
    USING (tenant IS NOT DISTINCT FROM nullif(current_setting('gateway.tenant', true), ''))
    WITH CHECK (tenant IS NOT DISTINCT FROM nullif(current_setting('gateway.tenant', true), ''));

-- audit_log: a request records (and, for RETURNING, reads back) entries of its own tenant only.
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS audit_log_own ON audit_log;
CREATE POLICY audit_log_own ON audit_log FOR ALL TO gateway_tenant
    USING (tenant IS NOT DISTINCT FROM nullif(current_setting('gateway.tenant', true), ''))
    WITH CHECK (tenant IS NOT DISTINCT FROM nullif(current_setting('gateway.tenant', true), ''));
