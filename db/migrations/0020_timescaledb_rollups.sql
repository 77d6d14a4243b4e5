-- TimescaleDB only (guarded like 0002): columnstore compression of older chunks and the
-- continuous aggregates that `aggregate` reads when bucket and zone match (db/rollups.py).
-- Plain PostgreSQL skips all of this and answers every query from `samples`.
DO $$
DECLARE
    rollup record;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
       AND current_setting('shared_preload_libraries') LIKE '%timescaledb%' THEN
        -- Segment by series so one series' range decompresses alone; ordered by time for
        -- range scans. Chunks are 7 days (0002); a month back is rarely rewritten.
        ALTER TABLE samples SET (timescaledb.compress,
                                 timescaledb.compress_segmentby = 'series_id',
                                 timescaledb.compress_orderby = 'ts');
        PERFORM add_compression_policy('samples', compress_after => interval '30 days',
                                       if_not_exists => true);

        -- Every rollup keeps the same columns; coarser buckets regroup them exactly
        -- (avg = sum / count). Real-time views union the not yet materialised raw tail,
        -- so reads are complete; created WITH NO DATA, the policy fills them in the
        -- background.
        FOR rollup IN
            SELECT * FROM (VALUES
                ('samples_1h',        interval '1 hour', 'UTC',           interval '2 hours'),
                ('samples_1d_utc',    interval '1 day',  'UTC',           interval '2 days'),
                ('samples_1d_berlin', interval '1 day',  'Europe/Berlin', interval '2 days')
            ) AS r(view_name, width, zone, lag)
        LOOP
            IF NOT EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates
                           WHERE view_name = rollup.view_name) THEN
                EXECUTE format(
                    'CREATE MATERIALIZED VIEW %I WITH (timescaledb.continuous, '
                    'timescaledb.materialized_only = false) AS '
                    'SELECT series_id, time_bucket(%L::interval, ts, %L) AS bucket, '
                    'sum(value) AS sum, count(*) AS count, min(value) AS min, '
                    'max(value) AS max, first(value, ts) AS first, last(value, ts) AS last '
                    'FROM samples GROUP BY series_id, bucket WITH NO DATA',
                    rollup.view_name, rollup.width, rollup.zone);
            END IF;
            PERFORM add_continuous_aggregate_policy(rollup.view_name::regclass,
                                                    start_offset => NULL,
                                                    end_offset => rollup.lag,
                                                    schedule_interval => interval '30 minutes',
                                                    if_not_exists => true);
        END LOOP;
    END IF;
END
$$;
