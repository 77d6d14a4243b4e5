-- Series metadata and the one narrow samples table.
-- Intervals are labelled by their start; all timestamps are timestamptz (UTC instants).

CREATE TABLE IF NOT EXISTS series (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key         text        NOT NULL UNIQUE CHECK (length(key) BETWEEN 1 AND 200),
    name        text        NOT NULL,
    kind        text        NOT NULL
                CHECK (kind IN ('POWER', 'ENERGY', 'METER', 'PRICE', 'CO2_INTENSITY', 'KPI', 'OTHER')),
    unit        text        NOT NULL,
    timezone    text        NOT NULL DEFAULT 'UTC',
    resolution  text,
    labels      jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(labels) = 'object'),
    source      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS series_labels_idx ON series USING gin (labels jsonb_path_ops);
CREATE INDEX IF NOT EXISTS series_kind_idx ON series (kind);
CREATE INDEX IF NOT EXISTS series_source_idx ON series (source);

-- No foreign key to series on purpose: a per-row RI trigger would halve COPY throughput,
-- and series are never deleted through the API.
CREATE TABLE IF NOT EXISTS samples (
    series_id integer          NOT NULL,
    ts        timestamptz      NOT NULL,
    value     double precision NOT NULL
              -- float8 accepts NaN and +-Infinity; the API rejects them first, this is the backstop.
              CONSTRAINT samples_value_finite CHECK (value NOT IN ('NaN', 'Infinity', '-Infinity')),
    PRIMARY KEY (series_id, ts)
);
