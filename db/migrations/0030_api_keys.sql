-- API keys: only the SHA-256 of each token is stored; the token itself is shown once at creation.
-- A key may hold several scopes. Keys are revoked, never deleted, so logs that name a key id
-- stay explainable.

CREATE TABLE IF NOT EXISTS api_keys (
    id            text        PRIMARY KEY CHECK (id ~ '^key_[0-9a-f]{12}$'),
    token_sha256  bytea       NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    name          text        NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    scopes        text[]      NOT NULL
                  CHECK (cardinality(scopes) BETWEEN 1 AND 3
                         AND scopes <@ ARRAY['read', 'ingest', 'admin']::text[]),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
