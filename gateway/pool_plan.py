"""How the database's connection budget is shared out (docs/limits.md, "Connection pools").

`db_max_connections` is what one gateway instance (`serve`, all its workers) may hold. Each
worker process gets an equal share; from it come the connections every process keeps for
itself (`LISTENER_CONNECTIONS`), then `db_ingest_connections` for the ingest pool, and the
rest is the read pool. A configuration that leaves a pool without a connection is refused
before anything starts, with the smallest budget that would fit.
"""

from __future__ import annotations

from dataclasses import dataclass

from db.engine import PoolConfig
from gateway.settings import Settings

__all__ = ["LISTENER_CONNECTIONS", "BudgetTooSmall", "PoolPlan", "plan_pools"]

# Connections each process opens outside its pools, whatever the settings: the key
# revocation listener (LISTEN, gateway.auth) and the subscriptions' LISTEN connection.
LISTENER_CONNECTIONS = 2


class BudgetTooSmall(ValueError):
    """The settings ask for more connections than `db_max_connections` allows."""


@dataclass(frozen=True)
class PoolPlan:
    workers: int
    per_worker: int  # the worker's share of db_max_connections
    read: PoolConfig
    ingest: PoolConfig

    @property
    def used_per_worker(self) -> int:
        return LISTENER_CONNECTIONS + self.read.size + self.ingest.size

    @property
    def total(self) -> int:
        """The most connections all workers together ever open."""
        return self.workers * self.used_per_worker

    def describe(self) -> str:
        return (
            f"{self.workers} worker(s) x ({self.read.size} read + {self.ingest.size} ingest + "
            f"{LISTENER_CONNECTIONS} listener) = {self.total} of {self.workers * self.per_worker}"
            " connections"
        )


def plan_pools(settings: Settings, workers: int | None = None) -> PoolPlan:
    """Pool sizes for one worker when `workers` processes share the budget, or
    `BudgetTooSmall` naming what to change."""
    workers = settings.workers if workers is None else workers
    if workers < 1:
        raise BudgetTooSmall(f"--workers must be at least 1, not {workers}")
    budget = settings.db_max_connections
    per_worker = budget // workers
    ingest = settings.db_ingest_connections
    read = per_worker - LISTENER_CONNECTIONS - ingest
    if read < 1:
        needed = workers * (LISTENER_CONNECTIONS + ingest + 1)
        raise BudgetTooSmall(
            f"GATEWAY_DB_MAX_CONNECTIONS={budget} cannot serve {workers} worker(s): each "
            f"needs {LISTENER_CONNECTIONS} listener + {ingest} ingest (GATEWAY_DB_INGEST_"
            f"CONNECTIONS) + at least 1 read connection, {needed} in all; raise "
            f"GATEWAY_DB_MAX_CONNECTIONS to {needed} or more, or run fewer workers"
        )
    return PoolPlan(
        workers=workers,
        per_worker=per_worker,
        read=_pool(settings, read),
        ingest=_pool(settings, ingest),
    )


def _pool(settings: Settings, size: int) -> PoolConfig:
    # A fixed size and no overflow: the budget is a ceiling the pools can never pass.
    return PoolConfig(
        size=size,
        max_overflow=0,
        timeout_s=settings.db_pool_timeout_s,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        connect_timeout_s=settings.db_connect_timeout_s,
    )
