-- Rollups are a cache that must never answer stale (docs/timescaledb.md). Every write that
-- changes `samples` records its (series, window) in `rollup_pending` in its own transaction;
-- a rollup may answer a read only while no pending row of its series overlaps the read's
-- window, and a pending row is deleted only after a forced refresh that started after the
-- write committed has re-materialised its window. All refreshes run under one advisory
-- lock, so they never overlap (TimescaleDB refuses overlapping ones) and nothing else moves
-- a rollup's watermark behind their back: the TimescaleDB refresh policies are replaced by
-- one job that runs the same procedures.
CREATE TABLE IF NOT EXISTS rollup_pending (
    id        bigserial PRIMARY KEY,
    series_id integer NOT NULL,
    lo        timestamptz NOT NULL,
    hi        timestamptz NOT NULL,
    attempts  integer NOT NULL DEFAULT 0,  -- failed refreshes go to the back of the queue
    CHECK (lo < hi)
);
CREATE INDEX IF NOT EXISTS rollup_pending_series ON rollup_pending (series_id, lo);

-- True while a write to any of `sids` in [lo, hi) awaits its rollup refresh. An inlined
-- EXISTS, so a read statement evaluates it once, in its own snapshot.
CREATE OR REPLACE FUNCTION rollup_pending_overlaps(sids integer[], lo timestamptz,
                                                   hi timestamptz)
RETURNS boolean LANGUAGE sql STABLE AS $$
    -- Positional: in SQL functions a column name wins over a parameter of the same name.
    SELECT EXISTS (SELECT 1 FROM rollup_pending p
                   WHERE p.series_id = ANY ($1) AND p.lo < $3 AND p.hi > $2)
$$;

-- The rollups' refresh lock (session level: it is held across the COMMITs of a refresh).
CREATE OR REPLACE FUNCTION rollup_lock_key() RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT 7240512026090001::bigint
$$;

-- Continuous aggregates of `samples` in this schema with their watermark (the end of what
-- is materialised; below it a rollup answers from its own rows, above it from the raw ones).
CREATE OR REPLACE FUNCTION rollup_watermarks()
RETURNS TABLE (view_name regclass, mark timestamptz, started boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY EXECUTE
        'SELECT format(''%I.%I'', c.user_view_schema, c.user_view_name)::regclass, w.mark, '
        '       w.mark > ''-infinity''::timestamptz AND extract(year FROM w.mark) > -4000 '
        'FROM _timescaledb_catalog.continuous_agg c '
        'JOIN _timescaledb_catalog.hypertable h ON h.id = c.raw_hypertable_id, '
        'LATERAL _timescaledb_functions.to_timestamp( '
        '    _timescaledb_functions.cagg_watermark(c.mat_hypertable_id)) AS w(mark) '
        'WHERE c.user_view_schema = current_schema() AND h.table_name = ''samples'' '
        'ORDER BY c.user_view_name';
END
$$;

-- Re-materialise the windows of all pending writes (forced: every bucket of the window is
-- recomputed, whatever TimescaleDB's own invalidation log says), then forget them. Pending
-- windows are padded to whole UTC days (a Berlin day lies within its UTC day +- 1) and
-- merged; a window is refreshed only up to the watermark, above it the rollups read raw rows
-- anyway and the next advance (rollup_advance) starts after this commit.
-- With `wait` false it returns at once if another session holds the lock: every holder
-- looks for pending rows again after it unlocks (and carries on if it gets the lock back),
-- so a window committed before a failed try is still picked up by the holder it met.
-- Must be called outside a transaction block.
CREATE OR REPLACE PROCEDURE rollup_refresh_pending(wait boolean DEFAULT true)
LANGUAGE plpgsql AS $$
DECLARE
    run record;
    rollup record;
    upto timestamptz;
BEGIN
    IF wait THEN
        PERFORM pg_advisory_lock(rollup_lock_key());
    ELSIF NOT pg_try_advisory_lock(rollup_lock_key()) THEN
        RETURN;
    END IF;
    LOOP
        FOR run IN
            WITH padded AS (
                SELECT id, attempts,
                       date_trunc('day', lo AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                           - interval '1 day' AS lo,
                       date_trunc('day', hi AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                           + interval '2 days' AS hi
                FROM rollup_pending
            ), ordered AS (
                SELECT *, max(hi) OVER (ORDER BY lo, hi ROWS BETWEEN UNBOUNDED PRECEDING
                                        AND 1 PRECEDING) AS reach
                FROM padded
            ), grouped AS (
                SELECT *, count(*) FILTER (WHERE reach IS NULL OR lo > reach)
                              OVER (ORDER BY lo, hi) AS part
                FROM ordered
            )
            SELECT min(lo) AS lo, max(hi) AS hi, array_agg(id) AS ids
            FROM grouped GROUP BY part ORDER BY max(attempts), min(lo)
        LOOP
            -- Counted before trying: a window whose refresh keeps failing (a float8 sum
            -- that overflows) is retried after the others, and its reads stay raw.
            UPDATE rollup_pending SET attempts = attempts + 1 WHERE id = ANY (run.ids);
            COMMIT;
            FOR rollup IN SELECT * FROM rollup_watermarks() WHERE started LOOP
                upto := least(run.hi, rollup.mark);
                IF upto > run.lo THEN
                    CALL refresh_continuous_aggregate(rollup.view_name, run.lo, upto,
                                                      force => true);
                END IF;
            END LOOP;
            DELETE FROM rollup_pending WHERE id = ANY (run.ids);
            COMMIT;
        END LOOP;
        PERFORM pg_advisory_unlock(rollup_lock_key());
        EXIT WHEN NOT EXISTS (SELECT 1 FROM rollup_pending);
        EXIT WHEN NOT pg_try_advisory_lock(rollup_lock_key());
    END LOOP;
END
$$;

-- Materialise each rollup from its watermark up to `lag` (per view name; default 2 hours)
-- before now, forced, so TimescaleDB's invalidation handling (issue #10296: the last bucket
-- of a zone-bucketed range can be skipped) plays no part.
CREATE OR REPLACE PROCEDURE rollup_advance(lags jsonb DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    rollup record;
    upto timestamptz;
BEGIN
    PERFORM pg_advisory_lock(rollup_lock_key());
    FOR rollup IN SELECT * FROM rollup_watermarks() LOOP
        upto := now() - coalesce((lags ->> rollup.view_name::text)::interval, interval '2 hours');
        IF NOT rollup.started OR upto > rollup.mark THEN
            CALL refresh_continuous_aggregate(
                rollup.view_name, CASE WHEN rollup.started THEN rollup.mark END, upto,
                force => true);
            COMMIT;
        END IF;
    END LOOP;
    PERFORM pg_advisory_unlock(rollup_lock_key());
END
$$;

-- Re-materialise every rollup over [lo, hi) (NULL: unbounded), forced and under the lock:
-- the repair after rows were written around the gateway (bulk COPY, manual SQL), which
-- records no pending window.
CREATE OR REPLACE PROCEDURE rollup_rebuild(lo timestamptz DEFAULT NULL,
                                           hi timestamptz DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    rollup record;
BEGIN
    PERFORM pg_advisory_lock(rollup_lock_key());
    FOR rollup IN SELECT * FROM rollup_watermarks() LOOP
        CALL refresh_continuous_aggregate(rollup.view_name, lo, hi, force => true);
        COMMIT;
    END LOOP;
    PERFORM pg_advisory_unlock(rollup_lock_key());
END
$$;

-- The scheduled job (TimescaleDB's job signature): pending windows, advance, and pending
-- windows again (writes that gave up waiting for the lock while the advance ran).
CREATE OR REPLACE PROCEDURE rollup_maintain(job_id integer, config jsonb)
LANGUAGE plpgsql AS $$
BEGIN
    CALL rollup_refresh_pending();
    CALL rollup_advance(config -> 'lags');
    CALL rollup_refresh_pending();
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
       AND current_setting('shared_preload_libraries') LIKE '%timescaledb%' THEN
        PERFORM remove_continuous_aggregate_policy(view_name::regclass, if_exists => true)
        FROM timescaledb_information.continuous_aggregates
        WHERE view_schema = current_schema() AND hypertable_name = 'samples';
        -- Rows materialised before this migration may already be stale (the upstream bug
        -- consumed their invalidations): everything is pending, so reads stay raw until the
        -- job's first run has rebuilt the rollups (forced).
        INSERT INTO rollup_pending (series_id, lo, hi)
        SELECT s.id, b.lo, b.hi
        FROM series s,
             (SELECT min(ts) AS lo, max(ts) + interval '1 microsecond' AS hi FROM samples) b
        WHERE b.lo IS NOT NULL;
        IF NOT EXISTS (SELECT 1 FROM timescaledb_information.jobs
                       WHERE proc_name = 'rollup_maintain' AND proc_schema = current_schema()) THEN
            PERFORM add_job('rollup_maintain', interval '1 minute',
                            config => '{"lags": {"samples_1h": "2 hours",
                                                 "samples_1d_utc": "2 days",
                                                 "samples_1d_berlin": "2 days"}}');
        END IF;
    END IF;
END
$$;
