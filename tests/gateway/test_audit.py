"""The audit trail: key creation and revocation from the CLI, deleteSamples (recorded in the
delete's own transaction), the append-only table and `python -m gateway audit`."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime

import asyncpg
import httpx
import orjson
import pytest

from gateway.keys import digest
from tests.gateway.conftest import bearer, log_records
from tests.resolvers.helpers import INGEST, UPSERT, ingest_input, series_input

DELETE = """mutation($key: String!, $from: DateTime!, $to: DateTime!) {
  deleteSamples(key: $key, from: $from, to: $to) { deleted userErrors { code } }
}"""
HOURS = [f"2025-03-30T0{h}:00:00Z" for h in range(6)]  # the spring-forward night in Berlin


def _gateway(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _audit_lines(database_url: str, *args: str) -> list[list[str]]:
    result = _gateway(database_url, "audit", *args)
    assert result.returncode == 0, result.stderr
    return [line.split("\t") for line in result.stdout.splitlines()]


async def _events(sql: asyncpg.Connection, since: datetime) -> list[asyncpg.Record]:
    events: list[asyncpg.Record] = await sql.fetch(
        "SELECT * FROM audit_log WHERE at >= $1 ORDER BY id", since
    )
    return events


async def test_cli_key_creation_and_revocation_are_audited(
    database_url: str, sql: asyncpg.Connection
) -> None:
    since = datetime.now(UTC)
    created = _gateway(database_url, "keys", "create", "--scope", "read", "--name", "audited")
    assert created.returncode == 0, created.stderr
    key_id = created.stdout.split("key id:")[1].split()[0]
    assert _gateway(database_url, "keys", "revoke", key_id).returncode == 0
    assert _gateway(database_url, "keys", "revoke", key_id).returncode == 1  # nothing to record

    rows = await _events(sql, since)
    assert [(r["actor"], r["action"], r["target"], r["tenant"]) for r in rows] == [
        ("cli", "key.create", f"{key_id} 'audited'", None),
        ("cli", "key.revoke", f"{key_id} 'audited'", None),
    ]
    assert orjson.loads(rows[0]["details"]) == {
        "key_id": key_id,
        "name": "audited",
        "scopes": ["read"],
        "expires_at": None,
    }
    assert rows[0]["at"] <= rows[1]["at"]

    lines = _audit_lines(database_url, "--since", since.isoformat())
    assert [line[1:] for line in lines] == [
        ["cli", "key.create", f"{key_id} 'audited'", "-", "-"],
        ["cli", "key.revoke", f"{key_id} 'audited'", "-", "-"],
    ]
    for line, row in zip(lines, rows, strict=True):
        assert datetime.fromisoformat(line[0]) == row["at"]


async def test_delete_samples_is_audited_with_who_what_and_request_id(
    prod_client: httpx.AsyncClient,
    api_keys: dict[str, str],
    sql: asyncpg.Connection,
    log_lines: io.StringIO,
) -> None:
    admin = bearer(api_keys["admin"])
    assert (await prod_client.post(
        "/graphql", json={"query": UPSERT, "variables": {"input": series_input("audit:s")}},
        headers=bearer(api_keys["all"]))).status_code == 200  # fmt: skip
    ingest = {"input": ingest_input("audit:s", HOURS, [1.0] * len(HOURS))}
    assert (await prod_client.post(
        "/graphql", json={"query": INGEST, "variables": ingest},
        headers=bearer(api_keys["all"]))).status_code == 200  # fmt: skip
    since = datetime.now(UTC)
    # The range is given in Berlin time across the switch to summer time; it is recorded in UTC.
    variables = {"key": "audit:s", "from": "2025-03-30T02:00:00+01:00", "to": HOURS[4]}
    response = await prod_client.post(
        "/graphql", json={"query": DELETE, "variables": variables}, headers=admin
    )
    assert response.json()["data"]["deleteSamples"] == {"deleted": 3, "userErrors": []}
    request_id = response.headers["x-request-id"]
    admin_id = await sql.fetchval(
        "SELECT id FROM api_keys WHERE token_sha256 = $1", digest(api_keys["admin"])
    )

    (row,) = await _events(sql, since)
    assert (row["actor"], row["action"], row["target"], row["tenant"], row["request_id"]) == (
        admin_id,
        "samples.delete",
        "audit:s [2025-03-30T01:00:00Z, 2025-03-30T04:00:00Z)",
        None,
        request_id,
    )
    assert orjson.loads(row["details"]) == {
        "series_key": "audit:s",
        "from": "2025-03-30T01:00:00Z",
        "to": "2025-03-30T04:00:00Z",
        "deleted": 3,
    }
    logged = [r for r in log_records(log_lines) if r.get("action") == "samples.delete"]
    assert [(r["actor"], r["target"], r["request_id"]) for r in logged] == [
        (admin_id, row["target"], request_id)
    ]


async def test_no_deletion_without_its_audit_record(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str], sql: asyncpg.Connection
) -> None:
    """If the audit insert fails, the delete in the same transaction is rolled back."""
    all_scopes = bearer(api_keys["all"])
    await prod_client.post(
        "/graphql", json={"query": UPSERT, "variables": {"input": series_input("audit:t")}},
        headers=all_scopes,
    )  # fmt: skip
    await prod_client.post(
        "/graphql",
        json={"query": INGEST, "variables": {"input": ingest_input("audit:t", HOURS, [2.0] * 6)}},
        headers=all_scopes,
    )
    before = await sql.fetchval("SELECT count(*) FROM audit_log")
    await sql.execute(
        "CREATE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit store down'; END $$;"
        "CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION test_refuse_audit()"
    )
    try:
        variables = {"key": "audit:t", "from": HOURS[0], "to": "2025-03-31T00:00:00Z"}
        response = await prod_client.post(
            "/graphql", json={"query": DELETE, "variables": variables}, headers=all_scopes
        )
    finally:
        await sql.execute(
            "DROP TRIGGER test_refuse_audit ON audit_log; DROP FUNCTION test_refuse_audit()"
        )
    body = response.json()
    assert body["data"] is None or body["data"].get("deleteSamples") is None
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_ERROR"
    count = await sql.fetchval(
        "SELECT count(*) FROM samples JOIN series s ON s.id = series_id WHERE s.key = 'audit:t'"
    )
    assert count == 6
    assert await sql.fetchval("SELECT count(*) FROM audit_log") == before


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'cli'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ],
)
async def test_the_audit_table_is_append_only_even_for_its_owner(
    sql: asyncpg.Connection, database_url: str, statement: str
) -> None:
    owner = await asyncpg.connect(database_url)  # the role the gateway runs as
    try:
        await owner.execute(
            "INSERT INTO audit_log (actor, action, target) VALUES ('cli', 'test.append', 'x')"
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await owner.execute(statement)
    finally:
        await owner.close()
    assert await sql.fetchval("SELECT count(*) FROM audit_log WHERE action = 'test.append'") >= 1


async def test_audit_cli_limit_and_since(database_url: str, sql: asyncpg.Connection) -> None:
    since = datetime.now(UTC)
    for i in range(3):
        await sql.execute(
            "INSERT INTO audit_log (actor, action, target) VALUES ('cli', 'test.limit', $1)",
            f"t{i}",
        )
    lines = _audit_lines(database_url, "--since", since.isoformat(), "--limit", "2")
    assert [line[3] for line in lines] == ["t1", "t2"]  # the latest two, oldest first
    assert _audit_lines(database_url, "--since", "2999-01-01T00:00:00Z") == []
    naive = _gateway(database_url, "audit", "--since", "2025-03-30T02:00:00")
    assert naive.returncode == 2 and "no time zone" in naive.stderr
    assert _gateway(database_url, "audit", "--limit", "0").returncode == 2
