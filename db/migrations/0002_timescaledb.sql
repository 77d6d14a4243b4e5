-- Use TimescaleDB when the server offers it and has it preloaded (it refuses to load
-- otherwise); plain PostgreSQL is used otherwise, with identical query results.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
       AND current_setting('shared_preload_libraries') LIKE '%timescaledb%' THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
        -- 7-day chunks: ~100 series at 15 min is ~67k rows per chunk, small enough to stay
        -- in memory while it is being written.
        PERFORM create_hypertable('samples', 'ts',
                                  chunk_time_interval => interval '7 days',
                                  if_not_exists => true,
                                  migrate_data => true);
    END IF;
END
$$;
