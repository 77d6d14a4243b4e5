"""Automatic persisted queries (Apollo's protocol), the allow-list mode, and the per-document
parse/validation cache (docs/api.md, "Persisted queries")."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr

from gateway.persisted import PersistedQueries, load_allow_list
from gateway.settings import Settings
from tests.conftest import running_app

SERIES = "query Series($key: String!) { series(key: $key) { key unit } }"
UPSERT = "mutation($input: SeriesInput!) { upsertSeries(input: $input) { key } }"

FILE = """# The dashboard's operations.
query Series($key: String!) {
  series(key: $key) { ...Meta }
}

query Listing {
  seriesList(first: 5) { nodes { ...Meta } }
}

fragment Meta on Series { key unit }
"""
# The `Series` operation as a client (codegen, Apollo) prints it: other layout, no comments,
# the fragment after the operation.
SERIES_AS_SENT = (
    "query Series($key: String!) {\n  series(key: $key) {\n    ...Meta\n  }\n}\n\n"
    "fragment Meta on Series {\n  key\n  unit\n}"
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq(digest: str, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


async def post(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post(
        "/graphql", content=orjson.dumps(body), headers={"content-type": "application/json"}
    )


def code(response: httpx.Response) -> str:
    errors = response.json()["errors"]
    assert len(errors) == 1
    value: str = errors[0]["extensions"]["code"]
    return value


def dev(database_url: str, **overrides: Any) -> Settings:
    return Settings(env="dev", database_url=SecretStr(database_url), **overrides)


async def make_series(client: httpx.AsyncClient, key: str) -> None:
    variables = {"input": {"key": key, "kind": "POWER", "unit": "kW"}}
    response = await post(client, {"query": UPSERT, "variables": variables})
    assert response.json() == {"data": {"upsertSeries": {"key": key}}}


# --- automatic persisted queries --------------------------------------------------------


async def test_miss_then_register_then_hit_with_other_variables(
    client: httpx.AsyncClient,
) -> None:
    await make_series(client, "apq:a")
    await make_series(client, "apq:b")
    query = SERIES + " # apq round trip"  # a text no other test registered
    miss = await post(client, {"variables": {"key": "apq:a"}, "extensions": apq(sha(query))})
    assert miss.status_code == 200
    assert code(miss) == "PERSISTED_QUERY_NOT_FOUND"
    assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert "no-cache" in miss.headers["cache-control"]

    registered = await post(
        client, {"query": query, "variables": {"key": "apq:a"}, "extensions": apq(sha(query))}
    )
    assert registered.json() == {"data": {"series": {"key": "apq:a", "unit": "kW"}}}

    for key in ("apq:b", "apq:a"):
        hit = await post(client, {"variables": {"key": key}, "extensions": apq(sha(query))})
        assert hit.status_code == 200
        assert hit.json() == {"data": {"series": {"key": key, "unit": "kW"}}}
    upper = await post(
        client, {"variables": {"key": "apq:b"}, "extensions": apq(sha(query).upper())}
    )
    assert upper.json() == {"data": {"series": {"key": "apq:b", "unit": "kW"}}}


async def test_hash_mismatch_is_refused_and_not_kept(client: httpx.AsyncClient) -> None:
    query = SERIES + " # mismatch"
    wrong = sha(query + " ")
    refused = await post(
        client, {"query": query, "variables": {"key": "x"}, "extensions": apq(wrong)}
    )
    assert refused.status_code == 400
    assert code(refused) == "PERSISTED_QUERY_HASH_MISMATCH"
    after = await post(client, {"variables": {"key": "x"}, "extensions": apq(wrong)})
    assert code(after) == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    "extension",
    [
        {"version": 2, "sha256Hash": "0" * 64},
        {"version": 1, "sha256Hash": "not-a-hash"},
        {"version": 1},
        "a string",
    ],
)
async def test_malformed_persisted_query_is_a_bad_request(
    client: httpx.AsyncClient, extension: object
) -> None:
    response = await post(client, {"query": SERIES, "extensions": {"persistedQuery": extension}})
    assert response.status_code == 400
    assert code(response) == "BAD_REQUEST"


async def test_invalid_documents_are_not_kept(client: httpx.AsyncClient) -> None:
    query = "{ series(key: "  # does not parse
    first = await post(client, {"query": query, "extensions": apq(sha(query))})
    assert code(first) == "GRAPHQL_PARSE_FAILED"
    again = await post(client, {"extensions": apq(sha(query))})
    assert code(again) == "PERSISTED_QUERY_NOT_FOUND"


async def test_switched_off_says_not_supported(database_url: str) -> None:
    async with running_app(dev(database_url, persisted_queries=False)) as (_, client):
        response = await post(client, {"query": SERIES, "extensions": apq(sha(SERIES))})
        assert response.status_code == 200
        assert code(response) == "PERSISTED_QUERY_NOT_SUPPORTED"
        plain = await post(client, {"query": SERIES, "variables": {"key": "x"}})
        assert plain.json() == {"data": {"series": None}}


def test_the_store_is_bounded_least_recently_used_first() -> None:
    store = PersistedQueries(enabled=True, size=2)
    store.store("a", "{ a }")
    store.store("b", "{ b }")
    assert store.lookup("a") == "{ a }"  # now the most recent
    store.store("c", "{ c }")
    assert store.lookup("b") is None
    assert store.lookup("a") == "{ a }"
    assert store.lookup("c") == "{ c }"


# --- allow-list mode --------------------------------------------------------------------


@pytest.fixture
def operations(tmp_path: Path) -> Path:
    path = tmp_path / "operations.graphql"
    path.write_text(FILE)
    return path


async def test_allow_list_runs_registered_documents_however_formatted(
    database_url: str, operations: Path
) -> None:
    settings = dev(database_url, persisted_queries_only=True, persisted_documents=str(operations))
    async with running_app(settings) as (_, client):
        as_sent = await post(client, {"query": SERIES_AS_SENT, "variables": {"key": "k"}})
        assert as_sent.json() == {"data": {"series": None}}
        whole_file = await post(
            client, {"query": FILE, "operationName": "Listing", "variables": {}}
        )
        assert whole_file.json() == {"data": {"seriesList": {"nodes": []}}}
        # A client's hash: unknown at first, then registered with the allowed text.
        digest = sha(SERIES_AS_SENT + "\n")
        miss = await post(client, {"variables": {"key": "k"}, "extensions": apq(digest)})
        assert code(miss) == "PERSISTED_QUERY_NOT_FOUND"
        kept = await post(
            client,
            {"query": SERIES_AS_SENT + "\n", "variables": {"key": "k"}, "extensions": apq(digest)},
        )
        assert kept.json() == {"data": {"series": None}}
        hit = await post(client, {"variables": {"key": "k"}, "extensions": apq(digest)})
        assert hit.json() == {"data": {"series": None}}
        # The file's own text is known by its hash from the start.
        by_file = await post(client, {"operationName": "Listing", "extensions": apq(sha(FILE))})
        assert by_file.json() == {"data": {"seriesList": {"nodes": []}}}


async def test_allow_list_refuses_everything_else(database_url: str, operations: Path) -> None:
    settings = dev(database_url, persisted_queries_only=True, persisted_documents=str(operations))
    async with running_app(settings) as (_, client):
        other = "query Series($key: String!) { series(key: $key) { key name } }"
        for body in (
            {"query": other, "variables": {"key": "k"}},
            {"query": other, "variables": {"key": "k"}, "extensions": apq(sha(other))},
            {"query": "{ series(key: "},  # does not even parse
            {"query": UPSERT, "variables": {"input": {"key": "k", "kind": "POWER", "unit": "W"}}},
        ):
            response = await post(client, body)
            assert response.status_code == 403
            assert code(response) == "DOCUMENT_NOT_ALLOWED"
        # Refused registrations are not kept either.
        after = await post(client, {"variables": {"key": "k"}, "extensions": apq(sha(other))})
        assert code(after) == "PERSISTED_QUERY_NOT_FOUND"


async def test_allow_list_from_an_apollo_manifest(database_url: str, tmp_path: Path) -> None:
    manifest = tmp_path / "persisted-query-manifest.json"
    manifest.write_bytes(
        orjson.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [
                    {"id": sha(SERIES), "name": "Series", "type": "query", "body": SERIES}
                ],
            }
        )
    )
    settings = dev(database_url, persisted_queries_only=True, persisted_documents=str(manifest))
    async with running_app(settings) as (_, client):
        hit = await post(client, {"variables": {"key": "k"}, "extensions": apq(sha(SERIES))})
        assert hit.json() == {"data": {"series": None}}
        refused = await post(client, {"query": "{ sites { key } }"})
        assert code(refused) == "DOCUMENT_NOT_ALLOWED"


def test_the_dashboards_operations_load_as_an_allow_list() -> None:
    path = Path(__file__).parents[2] / "frontend" / "src" / "graphql"
    allowed = load_allow_list(path)
    assert len(allowed.canonical) >= 12  # every operation, plus the whole file


def test_allow_list_mode_needs_documents(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PERSISTED_DOCUMENTS"):
        PersistedQueries.from_settings(enabled=True, size=10, only=True, documents=None)
    broken = tmp_path / "broken.graphql"
    broken.write_text("query {")
    with pytest.raises(ValueError, match="broken.graphql"):
        load_allow_list(broken)


# --- the per-document cache -------------------------------------------------------------


async def test_cached_document_runs_with_each_requests_variables_and_operation(
    client: httpx.AsyncClient,
) -> None:
    await make_series(client, "doc:a")
    document = (
        "query One($key: String!) { series(key: $key) { key } }\n"
        "query Two($key: String!) { series(key: $key) { unit } }"
    )
    for key, name, expected in [
        ("doc:a", "One", {"key": "doc:a"}),
        ("doc:a", "Two", {"unit": "kW"}),
        ("doc:missing", "One", None),
        ("doc:a", "One", {"key": "doc:a"}),
    ]:
        response = await post(
            client, {"query": document, "variables": {"key": key}, "operationName": name}
        )
        assert response.json() == {"data": {"series": expected}}
    for _ in range(2):
        unnamed = await post(client, {"query": document, "variables": {"key": "doc:a"}})
        assert unnamed.status_code == 400
        assert code(unnamed) == "OPERATION_NAME_REQUIRED"
        wrong_type = await post(
            client, {"query": document, "variables": {"key": 5}, "operationName": "One"}
        )
        assert code(wrong_type) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("{ series(key: ", "GRAPHQL_PARSE_FAILED"),
        ("{ series(key: 1) { nope } }", "GRAPHQL_VALIDATION_FAILED"),
    ],
)
async def test_invalid_documents_fail_every_time(
    client: httpx.AsyncClient, document: str, expected: str
) -> None:
    for _ in range(3):
        response = await post(client, {"query": document})
        assert response.status_code == 200
        body = response.json()
        assert body["data"] is None
        assert {e["extensions"]["code"] for e in body["errors"]} == {expected}
