"""GraphQL fuzzing in-process (docs/testing.md): schemathesis generates documents for
every root field from the served schema and sends them to the production-mode ASGI app with a
key of each scope (read, ingest, admin), against a real database of the module's own.

Pass: no HTTP 5xx; no GraphQL error that is a server fault (`INTERNAL_ERROR`, `UNAVAILABLE`, or
an execution error without a stable `extensions.code`); typed errors (`BAD_USER_INPUT`,
`INVALID_TIMEZONE`, `FORBIDDEN`, ...) and validation errors are expected and fine; no error
message contains `Traceback`, `File "/`, `asyncpg`, `sqlalchemy` or `SELECT ` unless the request
itself did; a key without the field's scope gets 403. String arguments are biased towards NUL,
LIKE wildcards, SQL-looking and long text; DateTime towards offsets of ±14 h, naive, year 1/9999
and garbage.

schemathesis' own `not_a_server_error` is not used: it counts every execution error whose code
Apollo does not know (ours: INVALID_TIMEZONE, BUDGET_EXCEEDED, ...) as a server error.

Examples per root field: 25 with the key of the field's scope and 5 with each other key by
default (derandomized: the same cases on every run); 500 and 50 with FULL_TESTS=1 (random).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import graphql
import hypothesis_graphql
import orjson
import pytest
import schemathesis
import strawberry
import uvicorn
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.graphql import nodes
from schemathesis.python import asgi as schemathesis_asgi
from starlette.applications import Starlette
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

from db.engine import Database
from gateway.app import create_app
from gateway.auth import ScopeMap
from gateway.keys import issue_key
from gateway.schema import served_schema
from gateway.settings import Settings
from resolvers.auth import Scope
from tests.conftest import _free_port, fresh_database

pytestmark = pytest.mark.slow

FULL = os.environ.get("FULL_TESTS") == "1"
EXAMPLES = 500 if FULL else 25  # per root field, with a key that has the field's scope
WRONG_SCOPE_EXAMPLES = 50 if FULL else 5  # per root field and key without that scope
LEAKS = ("Traceback", 'File "/', "asyncpg", "sqlalchemy", "SELECT ")
SERVER_FAULT_CODES = {"INTERNAL_ERROR", "INTERNAL_SERVER_ERROR", "UNAVAILABLE"}
# Keys the generator produces often (a key cannot be ""): series seeded under these keys, with
# samples, let the nested resolvers (samples, aggregate, energy, ...) run real SQL.
SEEDED_KEYS = ("0", "A", "a", "00")
SCOPES = (Scope.READ, Scope.INGEST, Scope.ADMIN)


def _served() -> strawberry.Schema:
    settings = Settings(env="prod", database_url=SecretStr("postgresql://probe@127.0.0.1/p"))
    return served_schema(settings)


def _cases() -> list[Any]:
    """(root type, field, key scope, examples): every root field with every key; the key
    with the field's own scope gets the full budget, the others a few (they must get 403)."""
    cases = []
    for (kind, field), needed in sorted(ScopeMap(_served()).fields().items()):
        if kind == "subscription":
            continue  # WebSocket only: test_fuzz_subscription below
        root = "Query" if kind == "query" else "Mutation"
        for scope in SCOPES:
            allowed = scope is (needed or Scope.ADMIN)
            examples = EXAMPLES if allowed else WRONG_SCOPE_EXAMPLES
            cases.append(pytest.param(root, field, scope, examples, id=f"{field}-{scope.value}"))
    return cases


# --- custom scalars ------------------------------------------------------------------------

_zones = st.sampled_from(
    [UTC, ZoneInfo("Europe/Berlin"), timezone(timedelta(hours=14)), timezone(-timedelta(hours=14))]
)
_datetimes = st.one_of(
    st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31), timezones=_zones
    ).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
            "9999-12-31T23:59:59-14:00",  # after year 9999 in UTC
            "2025-03-30T02:30:00",  # naive, and a wall time that does not exist in Berlin
            "2025-10-26T02:30:00+01:00",
            "1900-01-01T00:00:00Z",
            "not a date",
            "",
        ]
    ),
)
_names = st.from_regex(r"\A[_A-Za-z][_0-9A-Za-z]{0,8}\Z")
_json_leaves = st.one_of(
    st.none().map(lambda _: nodes.Null),
    st.booleans().map(nodes.Boolean),
    st.integers(min_value=-(2**31), max_value=2**31 - 1).map(nodes.Int),
    st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
    st.text(max_size=20).map(nodes.String),
)


def _object(pairs: dict[str, graphql.ValueNode]) -> graphql.ObjectValueNode:
    return nodes.Object(
        [graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=v) for k, v in pairs.items()]
    )


_json = st.recursive(
    _json_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(nodes.List),
        st.dictionaries(_names, children, max_size=4).map(_object),
    ),
    max_leaves=10,
)


# Strings: any text, and half of the time one a database or a LIKE pattern may trip over.
_strings = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "\x00",  # PostgreSQL text cannot hold NUL
            "a\x00b",
            "%",  # LIKE wildcards: a key prefix is text, not a pattern
            "_",
            "\\",
            "'; SELECT pg_sleep(10); --",
            "smard:4169:DE-LU:hour",
            "\ud7ff\ue000\U0001f600",
            "x" * 5000,
            *SEEDED_KEYS,  # existing series, so reads go past the lookup
        ]
    ),
)


def _register_scalars() -> None:
    # A registered strategy for a built-in scalar replaces hypothesis-graphql's own.
    schemathesis.graphql.scalar("String", _strings.map(nodes.String))
    schemathesis.graphql.scalar("DateTime", _datetimes.map(nodes.String))
    schemathesis.graphql.scalar("JSON", _json)
    # Bulk ingest columns (epoch milliseconds, numbers), when the schema has them.
    schemathesis.graphql.scalar(
        "EpochMillisColumn",
        st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=20).map(
            lambda xs: nodes.List([nodes.Int(x) for x in xs])
        ),
    )
    schemathesis.graphql.scalar(
        "FloatColumn",
        st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=20).map(
            lambda xs: nodes.List([nodes.Float(x) for x in xs])
        ),
    )


# --- the app under test ----------------------------------------------------------------------


@pytest.fixture(scope="module")
async def fuzz_database() -> AsyncIterator[str]:
    """A database of this module's own, so fuzzed mutations leave nothing for other tests."""
    async with fresh_database("gw_fuzz") as url:
        yield url


@pytest.fixture(scope="module")
async def fuzz_keys(fuzz_database: str) -> dict[Scope, str]:
    database = Database(fuzz_database)
    try:
        return {
            scope: (await issue_key(database, [scope], name=f"fuzz-{scope.value}")).token
            for scope in SCOPES
        }
    finally:
        await database.dispose()


@pytest.fixture(scope="module")
async def seeded(fuzz_database: str) -> None:
    """Series with samples around the generated instants, so reads execute real SQL."""
    conn = await asyncpg.connect(fuzz_database)
    try:
        start = datetime(2024, 1, 1, tzinfo=UTC)
        for key in SEEDED_KEYS:
            series_id = await conn.fetchval(
                "INSERT INTO series (key, name, kind, unit, timezone, resolution) "
                "VALUES ($1, $1, 'POWER', 'kW', 'Europe/Berlin', 'PT1H') RETURNING id",
                key,
            )
            rows = [
                (series_id, start + timedelta(hours=h), float(h % 97)) for h in range(0, 26_000, 7)
            ]
            await conn.copy_records_to_table(
                "samples", records=rows, columns=("series_id", "ts", "value")
            )
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def fuzz_app(fuzz_database: str, seeded: None) -> Iterator[Starlette]:
    """The production-mode app. schemathesis runs it (and its lifespan) on its own event loop
    thread; the lifespans it started are shut down here, before the database is dropped."""
    app = create_app(Settings(env="prod", database_url=SecretStr(fuzz_database)))
    yield app
    schemathesis_asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app: Starlette) -> Any:
    _register_scalars()
    schema = schemathesis.graphql.from_file(_served().as_str())
    schema.app = fuzz_app
    schema.location = "/graphql"
    return schema


@pytest.fixture(scope="module")
def seen() -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()
    yield counts
    print(f"\nfuzz responses over {counts.total()} cases: {dict(sorted(counts.items()))}")


# --- the check --------------------------------------------------------------------------------


def gateway_not_a_server_error(ctx: Any, response: Any, case: Any) -> None:
    """No 5xx, no server-fault GraphQL error, no internals in the body (see the module doc)."""
    text = response.content.decode("utf-8", "replace")
    assert response.status_code < 500, f"HTTP {response.status_code}: {text[:500]}"
    body = orjson.loads(response.content)
    assert isinstance(body, dict), text[:500]
    # Internals leak through error messages; `data` holds what clients stored earlier (the
    # fuzzer stores SQL-looking text too). An error may quote this request's own arguments
    # (hypothesis likes identifiers such as "sqlalchemy_url"): that is not a leak either.
    sent = response.request.body or b""
    sent = sent.decode("utf-8", "replace") if isinstance(sent, bytes) else str(sent)
    errors = orjson.dumps(body.get("errors") or []).decode()
    for leak in LEAKS:
        assert leak not in errors or leak in sent, f"{leak!r} leaked: {errors[:500]}"
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code not in SERVER_FAULT_CODES, f"server fault: {error}"
        if "path" in error:  # raised while executing: must be one of the gateway's typed errors
            assert code is not None, f"execution error without a code: {error}"


# --- the test ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("root", "field", "scope", "examples"), _cases())
def test_fuzz_root_field(
    root: str,
    field: str,
    scope: Scope,
    examples: int,
    fuzz_schema: Any,
    fuzz_keys: dict[Scope, str],
    seen: Counter[str],
) -> None:
    operation = fuzz_schema[root][field]
    headers = {"Authorization": f"Bearer {fuzz_keys[scope]}"}
    allowed = examples == EXAMPLES
    # Documents that fit the schema, and (with the right key) documents that do not.
    strategy = operation.as_strategy(GenerationMode.POSITIVE)
    if allowed:
        strategy = st.one_of(strategy, operation.as_strategy(GenerationMode.NEGATIVE))

    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=not FULL,  # the same cases on every CI run; fresh ones at full size
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case: Any) -> None:
        response = case.call(headers=headers)
        body = orjson.loads(response.content) if response.content else {}
        codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
        outcome = f"{response.status_code} " + (
            ",".join(sorted(c or "validation" for c in codes)) or "ok"
        )
        seen[outcome] += 1
        case.validate_response(response, checks=[gateway_not_a_server_error])
        if not allowed and response.status_code != 400:  # 400: refused before auth matters
            assert response.status_code == 403, outcome

    fuzz()


# --- subscriptions over WebSocket ---------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_live(fuzz_app: Starlette) -> Iterator[str]:
    """The same production-mode app under uvicorn (WebSocket needs a real server); its URL."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(Settings(env="prod", database_url=SecretStr(_database_of(fuzz_app)))),
        host="127.0.0.1",
        port=port,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "gateway did not start"
        time.sleep(0.05)
    yield f"ws://127.0.0.1:{port}/graphql"
    server.should_exit = True
    thread.join(timeout=30)


def _database_of(app: Starlette) -> str:
    settings: Settings = app.state.settings
    return settings.require_database_url()


def _subscription_documents(field: str) -> st.SearchStrategy[str]:
    """Subscription documents for one root field: hypothesis-graphql generates operations of
    the Query and Mutation types only, so the Subscription type stands in as the query type
    and the printed document gets the `subscription` keyword."""
    served = _served()._schema
    as_query = graphql.GraphQLSchema(
        query=served.subscription_type, types=list(served.type_map.values())
    )
    scalars = {"DateTime": _datetimes.map(nodes.String), "JSON": _json}
    return hypothesis_graphql.from_schema(as_query, fields=[field], custom_scalars=scalars).map(
        lambda document: f"subscription {document}"
    )


def _check_subscription_reply(message: dict[str, Any]) -> str:
    """The reply to a fuzzed subscribe: no server fault, every error coded; its outcome."""
    assert message.get("type") in {"next", "error", "complete"}, message
    errors = message.get("payload") if message["type"] == "error" else None
    if message["type"] == "next":
        errors = message["payload"].get("errors")
    text = orjson.dumps(errors or []).decode()
    for leak in LEAKS:
        assert leak not in text, f"{leak!r} leaked: {text[:500]}"
    codes = set()
    for error in errors or []:
        code = (error.get("extensions") or {}).get("code")
        assert code is not None and code not in SERVER_FAULT_CODES, f"server fault: {error}"
        codes.add(code)
    return f"{message['type']} " + (",".join(sorted(codes)) or "ok")


@pytest.mark.parametrize("field", ["samplesAdded", "aggregateUpdated"])
def test_fuzz_subscription(
    field: str, fuzz_live: str, fuzz_keys: dict[Scope, str], seen: Counter[str]
) -> None:
    """Generated subscribe messages over one real WebSocket: each gets a coded error, or runs
    (then it is completed); the connection survives them all."""
    payload = {"Authorization": f"Bearer {fuzz_keys[Scope.READ]}"}
    init = {"type": "connection_init", "payload": payload}
    with ws_connect(fuzz_live, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        ws.send(orjson.dumps(init).decode())
        assert orjson.loads(ws.recv(timeout=10)) == {"type": "connection_ack"}
        counter = iter(range(1 << 30))

        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=not FULL,
            suppress_health_check=list(HealthCheck),
        )
        @given(document=_subscription_documents(field))
        def fuzz(document: str) -> None:
            sid = str(next(counter))
            subscribe = {"id": sid, "type": "subscribe", "payload": {"query": document}}
            ws.send(orjson.dumps(subscribe).decode())
            while True:  # late replies to earlier (completed) ones are checked and skipped
                try:
                    reply = orjson.loads(ws.recv(timeout=1.0))
                except TimeoutError:  # running: waits for data
                    ws.send(orjson.dumps({"id": sid, "type": "complete"}).decode())
                    seen["subscription running"] += 1
                    return
                outcome = _check_subscription_reply(reply)
                if reply.get("id") == sid and reply["type"] != "complete":
                    seen[f"subscription {outcome}"] += 1
                    return

        fuzz()
        ws.send('{"type": "ping"}')
        while (message := orjson.loads(ws.recv(timeout=10))) != {"type": "pong"}:
            _check_subscription_reply(message)  # the last subscriptions' late replies
