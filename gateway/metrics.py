"""Prometheus metrics. One registry per app (tests build several apps in one process).

Label values are bounded: routes are a fixed set, operation names are kept for the first
`max_operations` well-formed names and reported as `other` after that, and the freshness
gauge covers at most `max_series` series.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Mapping

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from db.engine import Database
from db.freshness import latest_timestamps

__all__ = ["CONTENT_TYPE", "REFUSALS", "GatewayMetrics"]

# `_created` series double the output and no dashboard uses them.
disable_created_metrics()  # type: ignore[no-untyped-call]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
ROUTES = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})
ROW_OUTCOMES = ("inserted", "updated", "unchanged", "rejected", "failed")
REFUSALS = (
    "overloaded",
    "key_cost",
    "key_concurrency",
    "expensive_total",
    "ingest_concurrency",
    "body_timeout",
    "header_timeout",
    "header_too_large",
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

log = logging.getLogger("gateway.metrics")


class PoolCollector(Collector):
    """Pool usage read at scrape time, per pool (`read`, `ingest`), every gauge a count of
    connections (never negative).

    SQLAlchemy's `overflow()` is the number of open connections minus `pool_size`, so it is
    negative until the pool has filled once; the gauges report open connections split into
    checked out and idle, and the overflow clamped at zero (docs/operations.md)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterable[GaugeMetricFamily]:
        families = {
            name: GaugeMetricFamily(name, doc, labels=["pool"])
            for name, doc in (
                ("db_pool_size", "Connections the pool keeps (pool_size)."),
                ("db_pool_checked_out", "Open connections in use."),
                ("db_pool_idle", "Open connections waiting in the pool."),
                (
                    "db_pool_overflow",
                    "Open connections above pool_size (0 while the pool has not filled).",
                ),
            )
        }
        for named in self.database.pools:
            pool = named.engine.pool
            counters = [getattr(pool, name, None) for name in ("size", "checkedout", "checkedin")]
            if not all(callable(c) for c in counters):
                continue  # a pool without counters (NullPool in tests of the embedded database)
            size, checked_out, idle = (max(0, int(c())) for c in counters)  # type: ignore[misc]
            values = (size, checked_out, idle, max(0, checked_out + idle - size))
            for family, value in zip(families.values(), values, strict=True):
                family.add_metric([named.name], float(value))
        for family in families.values():
            if family.samples:
                yield family


class GatewayMetrics:
    def __init__(
        self, database: Database, *, max_operations: int = 100, max_series: int = 1000
    ) -> None:
        self.database = database
        self.max_operations = max_operations
        self.max_series = max_series
        self._operations: set[str] = set()
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_requests = Counter(
            "http_requests", "HTTP requests.", ["route", "method", "status"], registry=r
        )
        self.http_duration = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency.",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.graphql_operations = Counter(
            "graphql_operations",
            "GraphQL operations by name, type and outcome.",
            ["operation", "type", "outcome"],
            registry=r,
        )
        self.ingest_rows = Counter(
            "ingest_rows", "Sample rows sent to ingest, by outcome.", ["outcome"], registry=r
        )
        self.db_errors = Counter(
            "db_errors", "Database errors seen by requests.", ["reason"], registry=r
        )
        self.rate_limited = Counter(
            "rate_limited", "Requests refused with 429, by rule.", ["rule"], registry=r
        )
        self.refused = Counter(
            "refused",
            "Requests and connections refused to protect the gateway, by reason.",
            ["reason"],
            registry=r,
        )
        self.series_last = Gauge(
            "series_last_timestamp_seconds",
            "Newest sample per series (Unix seconds); alert when it falls behind.",
            ["series"],
            registry=r,
        )
        for outcome in ROW_OUTCOMES:
            self.ingest_rows.labels(outcome)  # export zeros so rate() works from the start
        for reason in REFUSALS:
            self.refused.labels(reason)
        r.register(PoolCollector(database))

    def operation_label(self, name: str | None) -> str:
        if not name or _NAME.fullmatch(name) is None:
            return "anonymous" if not name else "other"
        if name in self._operations:
            return name
        if len(self._operations) < self.max_operations:
            self._operations.add(name)
            return name
        return "other"

    def observe_rows(self, rows: Mapping[str, int]) -> None:
        for outcome, count in rows.items():
            if outcome in ROW_OUTCOMES and count:
                self.ingest_rows.labels(outcome).inc(count)

    async def _refresh_freshness(self) -> None:
        try:
            async with asyncio.timeout(2):
                latest = await latest_timestamps(self.database, limit=self.max_series)
        except Exception as exc:  # a scrape must still answer when the database is down
            log.warning("freshness query failed: %s", type(exc).__name__)
            self.db_errors.labels("metrics").inc()
            return
        self.series_last.clear()
        for key, seconds in latest.items():
            self.series_last.labels(key).set(seconds)

    async def render(self) -> bytes:
        await self._refresh_freshness()
        return generate_latest(self.registry)
