-- Use TimescaleDB when the server offers it; plain PostgreSQL otherwise (identical results).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
        -- 7-day chunks: ~100 series at 15 min is ~67k rows per chunk, small enough to stay in memory.
        PERFORM create_hypertable('samples', 'ts',
                                  chunk_time_interval => interval '7 days',
                                  if_not_exists => true,
                                  migrate_data => true);
    END IF;
END
$$;
