"""Database unreachable, crashed or restarting: HTTP 503 + Retry-After (never 500), liveness
stays up, readiness goes down, and everything recovers by itself when the database is back."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import asyncpg
import httpx

from db.engine import Database
from db.migrate import apply_migrations
from gateway.keys import issue_key, mint_token
from resolvers.auth import Scope
from tests.gateway.conftest import bearer, running_app, settings_for

LEAKS = ("asyncpg", "sqlalchemy", "Traceback", 'File "/', "refused", "SELECT ", "127.0.0.1")

SERIES = """mutation { upsertSeries(input: {key: "fault:a", kind: POWER, unit: "W"}) { key } }"""
INGEST = """mutation($ts: [DateTime!]!, $v: [Float!]!) {
  ingest(input: {series: [{key: "fault:a", timestamps: $ts, values: $v}]}) {
    accepted userErrors { code } } }"""
LIST = "{ seriesList { nodes { key } } }"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
    assert "request id" in body["errors"][0]["message"]
    for leak in LEAKS:
        assert leak not in response.text, leak


def _points(start_hour: int, n: int) -> dict[str, Any]:
    base = 1_735_689_600  # 2025-01-01T00:00Z
    ts = [
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + 3600 * (start_hour + i)))
        for i in range(n)
    ]
    return {"ts": ts, "v": [float(start_hour + i) for i in range(n)]}


async def test_unreachable_database_answers_503_not_500() -> None:
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/postgres"
    async with running_app(settings_for(url, db_connect_timeout_s=1.0)) as (_, client):
        assert (await client.get("/healthz")).status_code == 200
        readiness = await client.get("/readyz")  # the same 503 as the API's
        _assert_unavailable(readiness)
        assert "(database unavailable)" in readiness.json()["errors"][0]["message"]
        # Production: the key lookup itself cannot reach the database.
        token = mint_token([Scope.READ])
        response = await client.post("/graphql", json={"query": LIST}, headers=bearer(token))
        _assert_unavailable(response)
        # A malformed key is still a 401: it is rejected without the database.
        bad = await client.post("/graphql", json={"query": LIST}, headers=bearer("egw_ro_x"))
        assert bad.status_code == 401
    async with running_app(settings_for(url, env="dev", db_connect_timeout_s=1.0)) as (_, c):
        # Development (anonymous): the resolver's query fails; masked as 503 as well.
        _assert_unavailable(await c.post("/graphql", json={"query": LIST}))
        _assert_unavailable(
            await c.post("/graphql", json={"query": INGEST, "variables": _points(0, 3)})
        )


async def test_crash_and_restart_of_postgres_recovers_without_losing_acknowledged_rows(
    throwaway_postgres: Any,
) -> None:
    pg = throwaway_postgres
    await apply_migrations(pg.url)
    database = Database(pg.url)
    token = (await issue_key(database, [Scope.READ, Scope.INGEST], name="fault")).token
    await database.dispose()
    headers = bearer(token)
    settings = settings_for(pg.url, db_connect_timeout_s=1.0, db_pool_timeout_s=1.0)
    async with running_app(settings) as (_, client):
        assert (await client.post("/graphql", json={"query": SERIES}, headers=headers)).json()[
            "data"
        ]
        acknowledged = 0
        for batch in range(3):
            r = await client.post(
                "/graphql", json={"query": INGEST, "variables": _points(batch * 10, 10)},
                headers=headers,
            )  # fmt: skip
            assert r.status_code == 200 and r.json()["data"]["ingest"]["accepted"] == 10
            acknowledged += 10

        pg.stop("immediate")  # a crash: no shutdown checkpoint
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 503
        for query in (LIST, INGEST):
            r = await client.post(
                "/graphql", json={"query": query, "variables": _points(100, 5)}, headers=headers
            )
            _assert_unavailable(r)

        pg.start()  # WAL recovery runs here
        deadline = time.monotonic() + 10
        while (await client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, "gateway did not become ready again"
            await asyncio.sleep(0.2)
        recovered_after = time.monotonic() - (deadline - 10)
        r = await client.post(
            "/graphql", json={"query": INGEST, "variables": _points(30, 10)}, headers=headers
        )
        assert r.status_code == 200 and r.json()["data"]["ingest"]["accepted"] == 10
        acknowledged += 10
        print(f"readiness back {recovered_after:.2f}s after the restart")

    conn = await asyncpg.connect(pg.url)
    try:
        count, total = await conn.fetchrow("SELECT count(*), sum(value) FROM samples")
    finally:
        await conn.close()
    assert count == acknowledged == 40
    assert total == sum(range(40))


async def test_a_hung_database_gets_a_bounded_503(throwaway_postgres: Any) -> None:
    """Every PostgreSQL process stopped (SIGSTOP): no error ever comes back from the server,
    so only the gateway's own timeouts can end the request."""
    import os
    import signal

    pg = throwaway_postgres
    await apply_migrations(pg.url)
    settings = settings_for(
        pg.url, env="dev", db_statement_timeout_ms=500, db_connect_timeout_s=1.0,
        db_pool_timeout_s=1.0,
    )  # fmt: skip
    async with running_app(settings) as (_, client):
        assert (await client.post("/graphql", json={"query": LIST})).status_code == 200
        pids = pg.pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            responses = await asyncio.gather(
                *(client.post("/graphql", json={"query": LIST}) for _ in range(5)),
                client.get("/readyz"),
            )
            elapsed = time.monotonic() - started
            for response in responses[:-1]:
                _assert_unavailable(response)
            assert responses[-1].status_code == 503
            assert (await client.get("/healthz")).status_code == 200
            print(f"hung database: 5 requests answered 503 within {elapsed:.2f}s")
            assert elapsed < 6  # command timeout (0.5 s + 2 s) and pool wait, not forever
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        deadline = time.monotonic() + 10
        while (await client.post("/graphql", json={"query": LIST})).status_code != 200:
            assert time.monotonic() < deadline, "no recovery after SIGCONT"
            await asyncio.sleep(0.2)


async def test_readiness_fails_when_commits_are_not_durable(throwaway_postgres: Any) -> None:
    pg = throwaway_postgres
    async with running_app(settings_for(pg.url)) as (_, client):
        assert (await client.get("/readyz")).status_code == 200
    pg.stop()
    pg.start("synchronous_commit=off")
    async with running_app(settings_for(pg.url)) as (_, client):
        response = await client.get("/readyz")
        assert response.status_code == 503
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "UNAVAILABLE"
        assert "(unsafe durability settings)" in error["message"]
    async with running_app(settings_for(pg.url, require_durability=False)) as (_, client):
        assert (await client.get("/readyz")).status_code == 200  # the operator chose so
