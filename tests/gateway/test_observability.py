"""Metrics that match what happened (rows ingested by outcome, operations, freshness, pool),
bounded label cardinality, JSON log lines with request ids, and no token in any log line."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from gateway.keys import TOKEN_PATTERN
from gateway.metrics import GatewayMetrics
from tests.gateway.conftest import bearer, log_records

INGEST = """mutation Load($input: IngestInput!) {
  ingest(input: $input) { accepted inserted updated unchanged userErrors { code } } }"""
UPSERT = 'mutation { upsertSeries(input: {key: "obs:a", kind: PRICE, unit: "EUR/MWh"}) { key } }'
START = datetime(2025, 3, 30, 0, tzinfo=UTC)  # spans the CET->CEST switch; irrelevant in UTC


async def scrape(client: httpx.AsyncClient, token: str) -> dict[tuple[str, tuple[Any, ...]], float]:
    response = await client.get("/metrics", headers=bearer(token))
    assert response.status_code == 200
    samples: dict[tuple[str, tuple[Any, ...]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def rows(samples: dict[tuple[str, tuple[Any, ...]], float], outcome: str) -> float:
    return samples.get(("ingest_rows_total", (("outcome", outcome),)), 0.0)


def _batch(key: str, n: int, offset: float = 0.0, start: int = 0) -> dict[str, Any]:
    ts = [(START + timedelta(hours=start + i)).isoformat() for i in range(n)]
    return {
        "input": {
            "series": [{"key": key, "timestamps": ts, "values": [i + offset for i in range(n)]}]
        }
    }


async def test_metrics_match_rows_ingested(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str], sql: Any
) -> None:
    ingest, read = bearer(api_keys["ingest"]), api_keys["read"]
    created = await prod_client.post(
        "/graphql",
        json={"query": UPSERT},
        headers=ingest,
    )
    assert created.status_code == 200
    before = await scrape(prod_client, read)

    async def send(variables: dict[str, Any]) -> dict[str, Any]:
        r = await prod_client.post(
            "/graphql", json={"query": INGEST, "variables": variables}, headers=ingest
        )
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()["data"]["ingest"]
        return result

    first = await send(_batch("obs:a", 500))  # 500 new rows
    again = await send(_batch("obs:a", 500))  # 500 unchanged
    changed = await send(_batch("obs:a", 200, offset=0.5))  # 200 updated
    rejected = await send(
        {
            "input": {
                "series": [
                    {"key": "obs:a", "timestamps": ["2025-01-01T00:00:00Z"] * 2, "values": [1, 2]}
                ]
            }
        }
    )  # duplicate timestamp: 2 rows rejected, nothing written
    unknown = await send(_batch("obs:missing", 7))  # unknown series: 7 rejected
    assert (first["inserted"], again["unchanged"], changed["updated"]) == (500, 500, 200)
    assert rejected["userErrors"] and unknown["userErrors"]

    after = await scrape(prod_client, read)
    delta = {
        o: rows(after, o) - rows(before, o)
        for o in ("inserted", "updated", "unchanged", "rejected")
    }
    # 500 new; the replay leaves 500 unchanged; 200 changed values; 2 + 7 rejected.
    assert delta == {"inserted": 500, "updated": 200, "unchanged": 500, "rejected": 9}
    assert delta["inserted"] == await sql.fetchval("SELECT count(*) FROM samples")

    ok = (
        "graphql_operations_total",
        (("operation", "Load"), ("outcome", "ok"), ("type", "mutation")),
    )
    assert after[ok] - before.get(ok, 0.0) == 5
    newest = (START + timedelta(hours=499)).timestamp()
    assert after[("series_last_timestamp_seconds", (("series", "obs:a"),))] == newest
    for pool_name in ("read", "ingest"):  # one gauge set per pool (db.engine)
        labels = (("pool", pool_name),)
        assert ("db_pool_size", labels) in after and ("db_pool_checked_out", labels) in after
    pool = {key: v for key, v in after.items() if key[0].startswith("db_pool_")}
    assert {name for name, _ in pool} == {
        "db_pool_size",
        "db_pool_checked_out",
        "db_pool_idle",
        "db_pool_overflow",
    }
    assert min(pool.values()) >= 0  # SQLAlchemy's own overflow() reads -pool_size at first
    requests = (
        "http_requests_total",
        (("method", "POST"), ("route", "/graphql"), ("status", "200")),
    )
    assert after[requests] - before[requests] >= 5


async def test_metrics_need_a_key_in_production(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    assert (await prod_client.get("/metrics")).status_code == 401
    assert (
        await prod_client.get("/metrics", headers=bearer(api_keys["ingest"]))
    ).status_code == 403
    assert (await prod_client.get("/metrics", headers=bearer(api_keys["admin"]))).status_code == 200


def test_operation_label_cardinality_is_bounded(database_url: str) -> None:
    from db.engine import Database

    metrics = GatewayMetrics(Database(database_url), max_operations=3)
    labels = [metrics.operation_label(f"Op{i}") for i in range(10)]
    assert labels[:3] == ["Op0", "Op1", "Op2"] and set(labels[3:]) == {"other"}
    assert metrics.operation_label("Op1") == "Op1"
    assert metrics.operation_label("x" * 100) == "other"
    assert metrics.operation_label("Robert'); DROP") == "other"
    assert metrics.operation_label(None) == "anonymous"


async def test_every_log_line_is_json_with_a_request_id_and_no_token(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str], log_lines: io.StringIO
) -> None:
    query = {"query": "{ seriesList { nodes { key } } }"}
    sent: list[str] = []
    cases = [
        ("POST", "/graphql", bearer(api_keys["read"]), query),  # 200
        ("POST", "/graphql", {}, query),  # 401
        ("POST", "/graphql", bearer(api_keys["read"][:-1] + "x"), query),  # 401, bad checksum
        ("POST", "/graphql", bearer(api_keys["ingest"]), query),  # 403
        ("POST", "/graphql", bearer(api_keys["read"]), [query]),  # 400
        ("GET", "/healthz", {}, None),
        ("GET", "/readyz", {}, None),
        ("GET", "/metrics", bearer(api_keys["admin"]), None),
    ]
    for method, path, headers, body in cases:
        request_id = str(uuid.uuid4())
        sent.append(request_id)
        response = await prod_client.request(
            method, path, json=body, headers={**headers, "X-Request-ID": request_id}
        )
        assert response.headers["X-Request-ID"] == request_id
    # A header that is not a UUID is replaced, not echoed (it would go into logs verbatim).
    odd = await prod_client.get("/healthz", headers={"X-Request-ID": 'x\n{"forged": 1}'})
    assert uuid.UUID(odd.headers["X-Request-ID"])
    records = log_records(log_lines)
    access = [r for r in records if r["logger"] == "gateway.access"]
    assert [r["request_id"] for r in access[: len(sent)]] == sent
    for record in records:
        assert {"ts", "level", "event", "request_id"} <= record.keys()
    for record in access:
        assert record["request_id"] and isinstance(record["duration_ms"], float)
        assert {"status", "key_id", "operation", "rows", "method", "path"} <= record.keys()
    assert access[0]["key_id"].startswith("key_") and access[0]["status"] == 200
    assert access[1]["key_id"] is None and access[1]["status"] == 401
    assert TOKEN_PATTERN.search(log_lines.getvalue()) is None
    for token in api_keys.values():
        assert token[:20] not in log_lines.getvalue()
