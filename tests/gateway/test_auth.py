"""Access control: the credential x root-field matrix, derived from the schema so a new root
field is covered (and must declare a scope) automatically; token format; key lifecycle."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    build_schema as build_sdl_schema,
    get_named_type,
)
from graphql.pyutils import Undefined

from db.engine import Database
from gateway.auth import ScopeMap
from gateway.keys import TOKEN_PATTERN, digest, issue_key, mint_token, well_formed
from gateway.schema import served_schema
from gateway.settings import Settings
from resolvers.auth import Principal, Scope
from resolvers.context import Context, Limits
from resolvers.schema import build_schema
from tests.gateway.conftest import bearer, running_app

SCALAR_SAMPLES: dict[str, str] = {
    "String": '"auth-matrix"',
    "ID": '"1"',
    "Int": "1",
    "Float": "1.5",
    "Boolean": "true",
    "DateTime": '"2025-01-01T00:00:00Z"',
    "JSON": "{}",
}


_instants = (f"2025-01-{day:02d}T00:00:00Z" for day in itertools.cycle(range(1, 29)))


def _sdl_schema() -> GraphQLSchema:
    return build_sdl_schema(build_schema().as_str())


def _literal(type_: GraphQLType) -> str:
    """A valid literal for a required input type (lists are empty, objects minimal)."""
    if isinstance(type_, GraphQLNonNull):
        return _literal(type_.of_type)
    if isinstance(type_, GraphQLList):
        return "[]"
    if isinstance(type_, GraphQLEnumType):
        return str(next(iter(type_.values)))
    if isinstance(type_, GraphQLInputObjectType):
        required = [
            f"{name}: {_literal(field.type)}"
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        ]
        return "{" + ", ".join(required) + "}"
    named: GraphQLNamedType = get_named_type(type_)
    if named.name == "DateTime":
        return f'"{next(_instants)}"'  # increasing, so `from` < `to`
    return SCALAR_SAMPLES.get(named.name, '"x"')


def root_field_documents() -> Iterator[tuple[str, str, str]]:
    """(operation type, field name, a valid document selecting only that field)."""
    schema = _sdl_schema()
    for kind, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        assert root is not None
        for name, field in root.fields.items():
            args = [
                f"{arg_name}: {_literal(arg.type)}"
                for arg_name, arg in field.args.items()
                if isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
            ]
            call = f"{name}({', '.join(args)})" if args else name
            selection = (
                " { __typename }"
                if isinstance(get_named_type(field.type), GraphQLObjectType)
                else ""
            )
            yield kind, name, f"{kind} {{ {call}{selection} }}"


ROOT_FIELDS = list(root_field_documents())
SCOPES = ScopeMap(build_schema()).fields()


def test_every_root_field_declares_a_scope() -> None:
    assert ROOT_FIELDS, "no root fields found"
    for kind, name, _ in ROOT_FIELDS:
        assert (kind, name) in SCOPES, f"{kind}.{name} is not in the scope map"
        assert SCOPES[(kind, name)] is not None, (
            f"{kind}.{name} declares no scope: add extensions=scoped(Scope.X) (resolvers/auth.py)"
        )
    # Subscriptions run over WebSocket only (their scope check: test_subscriptions.py).
    subscriptions = {k: v for k, v in SCOPES.items() if k[0] == "subscription"}
    assert subscriptions and all(v is not None for v in subscriptions.values())
    assert len(SCOPES) - len(subscriptions) == len(ROOT_FIELDS)


def _errors(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code", "") for e in body.get("errors") or []]


@pytest.mark.parametrize(
    ("kind", "field", "document"), ROOT_FIELDS, ids=[r[1] for r in ROOT_FIELDS]
)
async def test_auth_matrix(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str], kind: str, field: str, document: str
) -> None:
    needed = SCOPES[(kind, field)]
    assert needed is not None
    payload = {"query": document}
    # No key, and keys that are malformed, fail the checksum, or are unknown: 401.
    unknown = mint_token([Scope.READ, Scope.INGEST, Scope.ADMIN])
    bad_checksum = api_keys["all"][:-8] + (
        "0" * 8 if not api_keys["all"].endswith("0" * 8) else "1" * 8
    )
    for headers in ({}, bearer("nonsense"), bearer(bad_checksum), bearer(unknown),
                    {"Authorization": f"Basic {api_keys['all']}"}):  # fmt: skip
        response = await prod_client.post("/graphql", json=payload, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert _errors(response.json()) == ["UNAUTHENTICATED"]
    # Each single-scope key: allowed exactly when it holds the field's scope.
    for scope in Scope:
        response = await prod_client.post(
            "/graphql", json=payload, headers=bearer(api_keys[scope.value])
        )
        if scope is needed:
            assert response.status_code == 200, response.text
            body = response.json()
            # It executed: any error has a path (raised by the resolver on the made-up
            # arguments), none is a validation error and none is a permission error.
            assert all("path" in e for e in body.get("errors") or []), response.text
            assert not {"FORBIDDEN", "UNAUTHENTICATED"} & set(_errors(body))
        else:
            assert response.status_code == 403, response.text
            assert _errors(response.json()) == ["FORBIDDEN"]
    # A key holding every scope may call everything.
    response = await prod_client.post("/graphql", json=payload, headers=bearer(api_keys["all"]))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("kind", "field", "document"), ROOT_FIELDS, ids=[r[1] for r in ROOT_FIELDS]
)
async def test_development_mode_is_anonymous_but_still_verifies_keys(
    client: httpx.AsyncClient, api_keys: dict[str, str], kind: str, field: str, document: str
) -> None:
    payload = {"query": document}
    assert (await client.post("/graphql", json=payload)).status_code == 200
    bad = await client.post("/graphql", json=payload, headers=bearer(mint_token([Scope.READ])))
    assert bad.status_code == 401
    needed = SCOPES[(kind, field)]
    other = next(s for s in Scope if s is not needed)
    wrong = await client.post("/graphql", json=payload, headers=bearer(api_keys[other.value]))
    assert wrong.status_code == 403


@pytest.mark.parametrize(
    ("kind", "field", "document"), ROOT_FIELDS, ids=[r[1] for r in ROOT_FIELDS]
)
async def test_field_permissions_are_a_second_line(
    prod_settings: Settings, database_url: str, kind: str, field: str, document: str
) -> None:
    """Executed without the HTTP guard, a principal without the scope still gets FORBIDDEN."""
    schema = served_schema(prod_settings)
    database = Database(database_url)
    try:
        needed = SCOPES[(kind, field)]
        for scope in Scope:
            context = Context(
                database=database,
                limits=Limits(),
                principal=Principal(key_id="key_test", scopes=frozenset({scope})),
            )
            result = await schema.execute(document, context_value=context)
            codes = [(e.extensions or {}).get("code") for e in result.errors or []]
            assert ("FORBIDDEN" in codes) == (scope is not needed), (scope, codes)
    finally:
        await database.dispose()


def test_token_format_and_checksum() -> None:
    token = mint_token([Scope.INGEST])
    assert token.startswith("egw_in_") and len(token) == 58
    assert well_formed(token)
    assert TOKEN_PATTERN.search(f"leaked: {token}") is not None
    assert mint_token([Scope.ADMIN, Scope.READ]).startswith("egw_road_")
    for i in range(7, len(token)):  # any single changed character fails the format or the CRC
        changed = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
        assert not well_formed(changed)
    assert not well_formed(token + "0") and not well_formed(token[:-1])
    assert len(digest(token)) == 32 and digest(token) != digest(mint_token([Scope.INGEST]))


async def test_revoked_and_expired_keys_are_rejected(
    prod_client: httpx.AsyncClient, database_url: str, sql: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    from gateway.keys import revoke_key

    database = Database(database_url)
    try:
        live = await issue_key(database, [Scope.READ], name="live")
        expired = await issue_key(
            database,
            [Scope.READ],
            name="expired",
            expires_at=datetime.now(UTC) - timedelta(seconds=1),
        )
        query = {"query": "{ seriesList { nodes { key } } }"}
        ok = await prod_client.post("/graphql", json=query, headers=bearer(live.token))
        assert ok.status_code == 200
        last_used = await sql.fetchval(
            "SELECT last_used_at FROM api_keys WHERE id = $1", live.key.id
        )
        assert last_used is not None
        gone = await prod_client.post("/graphql", json=query, headers=bearer(expired.token))
        assert gone.status_code == 401
        assert await revoke_key(database, live.key.id)
        assert not await revoke_key(database, live.key.id)
        revoked = await prod_client.post("/graphql", json=query, headers=bearer(live.token))
        assert revoked.status_code == 401
    finally:
        await database.dispose()


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "gateway", "keys", *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def test_keys_cli_create_list_revoke(
    prod_client: httpx.AsyncClient, database_url: str
) -> None:
    created = _cli(database_url, "create", "--scope", "read", "--scope", "ingest",
                   "--name", "cli-test", "--expires-in-days", "30")  # fmt: skip
    assert created.returncode == 0, created.stderr
    fields = dict(
        line.split(":", 1)
        for line in created.stdout.splitlines()
        if line.startswith(("key id", "token", "scopes"))
    )
    token, key_id = fields["token"].strip(), fields["key id"].strip()
    assert fields["scopes"].strip() == "read,ingest" and token.startswith("egw_roin_")
    listed = _cli(database_url, "list")
    assert key_id in listed.stdout and "cli-test" in listed.stdout
    assert token not in listed.stdout and "egw_" not in listed.stdout
    query = {"query": "{ seriesList { nodes { key } } }"}
    assert (
        await prod_client.post("/graphql", json=query, headers=bearer(token))
    ).status_code == 200
    assert _cli(database_url, "revoke", key_id).returncode == 0
    assert _cli(database_url, "revoke", key_id).returncode == 1
    # Another process revoked it: this app hears the NOTIFY (docs/security.md).
    deadline = asyncio.get_running_loop().time() + 20
    while (
        await prod_client.post("/graphql", json=query, headers=bearer(token))
    ).status_code != 401:
        assert asyncio.get_running_loop().time() < deadline, "revocation never arrived"
        await asyncio.sleep(0.05)
    assert key_id not in _cli(database_url, "list").stdout
    assert key_id in _cli(database_url, "list", "--all").stdout


async def test_bad_checksum_is_rejected_without_a_database(api_keys: dict[str, str]) -> None:
    """The app's database is a closed port: a lookup would give 503, the checksum gives 401."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from pydantic import SecretStr

    settings = Settings(
        env="prod",
        database_url=SecretStr(f"postgresql://postgres@127.0.0.1:{port}/x"),
        db_connect_timeout_s=1.0,
    )
    token = api_keys["read"]
    tampered = token[:-1] + ("0" if token[-1] != "0" else "1")
    async with running_app(settings) as (_, client):
        query = {"query": "{ seriesList { nodes { key } } }"}
        response = await client.post("/graphql", json=query, headers=bearer(tampered))
        assert response.status_code == 401
        response = await client.post("/graphql", json=query, headers=bearer(token))
        assert response.status_code == 503  # well-formed: it needs the database


async def test_no_plaintext_token_in_the_database(
    api_keys: dict[str, str], database_url: str, tmp_path: Any
) -> None:
    from tests.pg_cluster import pg_bin

    process = await asyncio.create_subprocess_exec(
        pg_bin("pg_dump"), "--data-only", "--table=api_keys", database_url,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await process.communicate()
    assert process.returncode == 0
    dump = out.decode()
    assert "COPY public.api_keys" in dump
    for token in api_keys.values():
        assert token not in dump
        assert token[:-8] not in dump
    assert TOKEN_PATTERN.search(dump) is None
