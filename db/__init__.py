"""Storage layer: PostgreSQL/TimescaleDB access. Imports neither strawberry nor starlette."""
