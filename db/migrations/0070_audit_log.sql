-- Audit trail (docs/security.md, Audit trail): who did what, when, under which request id.
-- Append-only. REVOKE cannot take UPDATE or DELETE away from the table's owner (the role the
-- gateway and its migrations run as), so triggers refuse them instead, and TRUNCATE too; only
-- a superuser disabling the triggers can rewrite history.

CREATE TABLE IF NOT EXISTS audit_log (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),  -- the writing transaction's time
    actor       text        NOT NULL CHECK (actor ~ '^(key_[0-9a-f]{12}|cli|anonymous)$'),
    action      text        NOT NULL CHECK (action ~ '^[a-z]+\.[a-z]+$'),
    target      text        NOT NULL CHECK (length(target) <= 1000),
    -- NULL: no tenants exist yet; tenant changes and tenant-scoped actions will fill it.
    tenant      text,
    request_id  text,
    details     jsonb       NOT NULL DEFAULT '{}'
);

CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at, id);

CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE OR REPLACE TRIGGER audit_log_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE OR REPLACE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
