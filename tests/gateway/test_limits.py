"""Every limit just under and just over: document depth, aliases (including the fragment-spread
amplification of CVE-2026-47707), tokens, root fields, body size (declared and streamed), plus
the transport rules: JSON only, no batching, no GET queries (a browser's GET gets the IDE page,
never a result), no introspection or suggestions in production, CORS only for configured
origins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from graphql import GraphQLSyntaxError, parse
from graphql.language import Lexer, Source, TokenKind

from gateway.settings import Settings
from tests.gateway.conftest import bearer, running_app, settings_for

MIB = 1024 * 1024


async def _post(client: httpx.AsyncClient, token: str, query: str, **extra: Any) -> httpx.Response:
    return await client.post("/graphql", json={"query": query, **extra}, headers=bearer(token))


def _messages(response: httpx.Response) -> list[str]:
    return [e["message"] for e in response.json().get("errors") or []]


def _nested(levels: int) -> str:
    """`levels` nested fields, i.e. depth levels-1 in the depth limiter's counting (a leaf
    adds none). The schema has no cycle deeper than ~5, so the names are made up: the limit
    must fire in validation whatever the fields are."""
    body = "f"
    for _ in range(levels - 1):
        body = f"f {{ {body} }}"
    return "{ " + body + " }"


async def test_depth_8_passes_and_9_is_rejected(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    depth_8 = _messages(await _post(prod_client, api_keys["read"], _nested(9)))
    depth_9 = _messages(await _post(prod_client, api_keys["read"], _nested(10)))
    assert not [m for m in depth_8 if "depth" in m]
    assert "'anonymous' exceeds maximum operation depth of 8" in depth_9
    # A real query at the schema's deepest point runs.
    deep = """{ seriesList { edges { node { samples(from: "2025-01-01T00:00:00Z",
               to: "2025-01-02T00:00:00Z") { timestamps values } } } } }"""
    response = await _post(prod_client, api_keys["read"], deep)
    assert response.status_code == 200 and "errors" not in response.json(), response.text


def _aliases(n: int, prefix: str = "a") -> str:
    return " ".join(f"{prefix}{i}: __typename" for i in range(n))


async def test_15_aliases_pass_and_16_are_rejected_including_fragment_spreads(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    token = api_keys["read"]
    ok = await _post(prod_client, token, "{ seriesList { " + _aliases(15) + " } }")
    assert ok.status_code == 200 and "errors" not in ok.json(), ok.text
    over = await _post(prod_client, token, "{ seriesList { " + _aliases(16) + " } }")
    assert "16 aliases found. Allowed: 15" in _messages(over)
    # CVE-2026-47707 (strawberry < 0.315.7): aliases inside a fragment were counted once, not
    # once per spread. 3 spreads x 4 + 3 = 15 pass; 4 spreads x 4 = 16 are rejected.
    fragment = "fragment F on SeriesConnection { " + _aliases(4, "f") + " }"
    ok = await _post(
        prod_client, token, "{ seriesList { ...F ...F ...F " + _aliases(3) + " } } " + fragment
    )
    assert ok.status_code == 200 and "errors" not in ok.json(), ok.text
    over = await _post(prod_client, token, "{ seriesList { ...F ...F ...F ...F } } " + fragment)
    assert "16 aliases found. Allowed: 15" in _messages(over)


def _tokens(document: str) -> int:
    lexer = Lexer(Source(document))
    count = 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def _kinds_document(tokens: int) -> str:
    """A valid query with exactly `tokens` lexical tokens (16 fixed + one per enum value)."""
    document = "{ seriesList(filter: {kinds: [" + " ".join(["POWER"] * (tokens - 16)) + "]}) "
    document += "{ __typename } }"
    assert _tokens(document) == tokens
    return document


async def test_2000_tokens_pass_and_2001_are_rejected(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    ok = await _post(prod_client, api_keys["read"], _kinds_document(2000))
    assert ok.status_code == 200 and "errors" not in ok.json(), ok.text
    over = await _post(prod_client, api_keys["read"], _kinds_document(2001))
    assert any("more than 2000 tokens" in m for m in _messages(over)), over.text
    assert "data" not in over.json() or over.json()["data"] is None


async def test_10_root_fields_pass_and_11_are_rejected(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    def roots(n: int) -> str:
        return "{ " + " ".join(f"r{i}: seriesList {{ __typename }}" for i in range(n)) + " }"

    ok = await _post(prod_client, api_keys["read"], roots(10))
    assert ok.status_code == 200 and "errors" not in ok.json(), ok.text
    over = await _post(prod_client, api_keys["read"], roots(11))
    assert "11 root fields in one operation; the limit is 10" in _messages(over)
    # Through a fragment too.
    fragment = (
        "fragment R on Query { "
        + " ".join(f"x{i}: seriesList {{ __typename }}" for i in range(6))
        + " }"
    )
    over = await _post(
        prod_client, api_keys["read"], "{ ...R ...on Query { " + roots(5)[2:-2] + " } } " + fragment
    )
    assert "11 root fields in one operation; the limit is 10" in _messages(over)


def _padded(size: int) -> bytes:
    """A valid request body of exactly `size` bytes (JSON allows trailing whitespace)."""
    body = orjson.dumps({"query": "{ seriesList { __typename } }"})
    assert len(body) <= size
    return body + b" " * (size - len(body))


async def _chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_body_of_2_mib_passes_and_one_byte_more_is_413(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    headers = {**bearer(api_keys["read"]), "Content-Type": "application/json"}
    ok = await prod_client.post("/graphql", content=_padded(2 * MIB), headers=headers)
    assert ok.status_code == 200, ok.text
    over = await prod_client.post("/graphql", content=_padded(2 * MIB + 1), headers=headers)
    assert over.status_code == 413
    assert over.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    # Streamed (chunked, no Content-Length): counted as it arrives.
    streamed = await prod_client.post(
        "/graphql", content=_chunks(_padded(2 * MIB + 1)), headers=headers
    )
    assert streamed.status_code == 413
    streamed_ok = await prod_client.post(
        "/graphql", content=_chunks(_padded(2 * MIB)), headers=headers
    )
    assert streamed_ok.status_code == 200


INGEST = """mutation($input: IngestInput!) {
  ingest(input: $input) { accepted inserted userErrors { code message } } }"""


async def test_ingest_keys_get_the_large_body_allowance(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str], sql: Any
) -> None:
    """A 100,000-point columnar ingest (about 5 MB) passes with an ingest key; the same body
    from a read key is 413; past the ingest allowance an ingest key gets 413 too."""
    token = api_keys["ingest"]
    created = await _post(
        prod_client, token,
        'mutation { upsertSeries(input: {key: "limits:big", kind: POWER, unit: "W"}) { key } }',
    )  # fmt: skip
    assert created.status_code == 200, created.text
    start = datetime(2024, 1, 1, tzinfo=UTC)
    n = 100_000
    timestamps = [(start + timedelta(minutes=15 * i)).isoformat() for i in range(n)]
    values = [float(i % 1000) for i in range(n)]
    variables = {
        "input": {"series": [{"key": "limits:big", "timestamps": timestamps, "values": values}]}
    }
    body = orjson.dumps({"query": INGEST, "variables": variables})
    assert 2 * MIB < len(body) < 64 * MIB
    print(f"100k-point ingest body: {len(body) / 1e6:.2f} MB")
    headers = {"Content-Type": "application/json"}
    refused = await prod_client.post(
        "/graphql", content=body, headers={**headers, **bearer(api_keys["read"])}
    )
    assert refused.status_code == 413
    response = await prod_client.post(
        "/graphql", content=body, headers={**headers, **bearer(token)}
    )
    assert response.status_code == 200, response.text[:500]
    assert response.json()["data"]["ingest"]["accepted"] == n
    assert await sql.fetchval("SELECT count(*) FROM samples") == n
    huge = b" " * (64 * MIB + 1)
    too_big = await prod_client.post("/graphql", content=huge, headers={**headers, **bearer(token)})
    assert too_big.status_code == 413


async def test_transport_rules(prod_client: httpx.AsyncClient, api_keys: dict[str, str]) -> None:
    auth = bearer(api_keys["read"])
    query = {"query": "{ seriesList { __typename } }"}
    batch = await prod_client.post("/graphql", json=[query, query], headers=auth)
    assert batch.status_code == 400 and "batch" in batch.text
    get = await prod_client.get("/graphql", params=query, headers=auth)
    assert get.status_code in (400, 405)
    form = await prod_client.post("/graphql", data=query, headers=auth)
    assert form.status_code == 415
    text = await prod_client.post(
        "/graphql", content=orjson.dumps(query), headers={**auth, "Content-Type": "text/plain"}
    )
    assert text.status_code == 415
    broken = await prod_client.post(
        "/graphql", content=b"{nope", headers={**auth, "Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    put = await prod_client.put("/graphql", json=query, headers=auth)
    assert put.status_code == 405
    # A browser's GET gets the IDE page (or, without a frontend build, a note): never a result.
    ide = await prod_client.get("/graphql", params=query, headers={**auth, "Accept": "text/html"})
    assert ide.headers["content-type"].startswith(("text/html", "text/plain"))
    assert "__typename" not in ide.text and '"data"' not in ide.text


async def test_production_has_no_introspection_and_no_suggestions(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    token = api_keys["read"]
    introspection = await _post(prod_client, token, "{ __schema { queryType { name } } }")
    assert introspection.json().get("data") is None
    assert _messages(introspection)
    typos: list[tuple[str, dict[str, Any] | None]] = [
        ("{ seriesLis { __typename } }", None),
        ("{ seriesList(firs: 1) { __typename } }", None),
        ("{ seriesList(filter: {kinds: [POWR]}) { __typename } }", None),
        ("query($f: SeriesFilter) { seriesList(filter: $f) { __typename } }", {"f": {"kind": []}}),
        ("{ seriesList { nodes { kee } } }", None),
    ]
    for document, variables in typos:
        response = await _post(prod_client, token, document, variables=variables)
        assert response.status_code == 200
        assert _messages(response), document
        assert "Did you mean" not in response.text, response.text
        assert "INTERNAL_ERROR" not in response.text


async def test_development_keeps_introspection_and_suggestions(
    client: httpx.AsyncClient,
) -> None:
    introspection = await client.post(
        "/graphql", json={"query": "{ __schema { queryType { name } } }"}
    )
    assert introspection.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    typo = await client.post("/graphql", json={"query": "{ seriesLis { __typename } }"})
    assert "Did you mean" in typo.text


@pytest.mark.parametrize("origins", [[], ["https://app.example"]])
async def test_cors_only_for_configured_origins(database_url: str, origins: list[str]) -> None:
    settings: Settings = settings_for(database_url, cors_origins=origins)
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    async with running_app(settings) as (_, client):
        stranger = await client.options(
            "/graphql", headers={**preflight, "Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in stranger.headers
        friend = await client.options(
            "/graphql", headers={**preflight, "Origin": "https://app.example"}
        )
        if origins:
            assert friend.status_code == 200
            assert friend.headers["access-control-allow-origin"] == "https://app.example"
        else:
            assert "access-control-allow-origin" not in friend.headers


def test_graphql_core_counts_tokens_as_these_documents_do() -> None:
    """The token limit is graphql-core's `max_tokens`: the 2,000-token document parses at a
    limit of 2,000 and the 2,001-token one is refused (so the HTTP test above probes the
    boundary, not a miscount)."""
    assert parse(_kinds_document(2000), max_tokens=2000).definitions
    with pytest.raises(GraphQLSyntaxError, match="2000 tokens"):
        parse(_kinds_document(2001), max_tokens=2000)


async def test_dev_mode_allows_local_origins(database_url: str) -> None:
    """A frontend dev server on this machine (Vite on localhost:5173) may call the API in
    development mode without configuring `cors_origins`; other origins may not."""
    settings: Settings = settings_for(database_url, env="dev")
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    async with running_app(settings) as (_, client):
        for origin in ("http://localhost:5173", "http://127.0.0.1:8080", "http://localhost"):
            local = await client.options("/graphql", headers={**preflight, "Origin": origin})
            assert local.status_code == 200
            assert local.headers["access-control-allow-origin"] == origin
        for origin in (
            "https://evil.example",
            "http://localhost.evil.example",
            "https://localhost",
        ):
            other = await client.options("/graphql", headers={**preflight, "Origin": origin})
            assert "access-control-allow-origin" not in other.headers
