-- What-if scenarios (docs/scenarios.md): inputs, and the state of their computation by the
-- scenario service. A change of inputs bumps `revision` and sets the scenario PENDING again;
-- a service finishes a claim only for the revision it claimed.
CREATE TABLE IF NOT EXISTS scenarios (
    key          text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 150),
    site_key     text NOT NULL,
    period_from  timestamptz NOT NULL,
    period_to    timestamptz NOT NULL,
    pv_kwp       float8 CHECK (pv_kwp >= 0),
    battery      jsonb CHECK (battery IS NULL OR jsonb_typeof(battery) = 'object'),
    strategy     text NOT NULL CHECK (strategy IN ('SELF_CONSUMPTION', 'COST_OPTIMAL')),
    tariff       jsonb CHECK (tariff IS NULL OR jsonb_typeof(tariff) = 'object'),
    status       text NOT NULL DEFAULT 'PENDING'
                 CHECK (status IN ('PENDING', 'RUNNING', 'DONE', 'FAILED')),
    message      text,
    revision     integer NOT NULL DEFAULT 1,
    claimed_by   text,
    claimed_at   timestamptz,
    finished_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (period_from < period_to)
);

-- The claim query's scan: oldest pending first.
CREATE INDEX IF NOT EXISTS scenarios_pending ON scenarios (updated_at) WHERE status = 'PENDING';

-- Sizing sweeps: one row per (sweep, PV size, battery size) with its KPIs.
CREATE TABLE IF NOT EXISTS scenario_sweeps (
    key          text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 150),
    site_key     text NOT NULL,
    period_from  timestamptz NOT NULL,
    period_to    timestamptz NOT NULL,
    cells        jsonb NOT NULL CHECK (jsonb_typeof(cells) = 'array'),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
