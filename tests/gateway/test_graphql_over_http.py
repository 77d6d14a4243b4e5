"""GraphQL over HTTP (docs/api.md): the npm `graphql-http` audit suite against the gateway
under uvicorn, plus the media types and statuses it checks, asserted directly."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.datastructures import Headers

from gateway.responses import GRAPHQL_RESPONSE, response_media_type
from tests.conftest import LiveGateway

AUDIT_DIR = Path(__file__).resolve().parents[1] / "http_audit"


def _is_get_audit(name: str) -> bool:
    """The gateway refuses GET (docs/api.md, "GraphQL over HTTP"); audits that expect GET
    queries to be served may warn. Every other audit must pass."""
    return "GET" in name


def _run_audit(url: str, token: str) -> list[dict[str, Any]]:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed for the graphql-http audit (Node 20 with npm)")
    if not (AUDIT_DIR / "node_modules" / "graphql-http").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=AUDIT_DIR, check=True
        )
    done = subprocess.run(
        ["node", "audit.mjs", url, token],
        cwd=AUDIT_DIR,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_graphql_http_audit_suite(live_gateway: LiveGateway, api_keys: dict[str, str]) -> None:
    """Against the development gateway: audit 28B9 queries `__type`, and production has no
    introspection. The key is checked all the same (a presented key is always verified)."""
    results = _run_audit(live_gateway.url, api_keys["read"])
    print("\n".join(f"{r['id']} {r['status']:6} {r['name']}" for r in results))
    assert len(results) >= 50  # the suite ran (61 audits in graphql-http 1.23)
    failed = [r for r in results if r["status"] != "ok"]
    errors = [r for r in failed if r["status"] == "error"]
    assert not errors, errors
    unexpected = [r for r in failed if not _is_get_audit(r["name"])]
    assert not unexpected, unexpected


async def test_media_types_and_statuses(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    auth = {"Authorization": f"Bearer {api_keys['read']}"}
    new = {**auth, "Accept": "application/graphql-response+json"}
    for document, code in (
        ("{ seriesList {", "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
    ):
        old = await prod_client.post("/graphql", json={"query": document}, headers=auth)
        assert old.status_code == 200 and old.headers["content-type"] == "application/json"
        assert old.json()["data"] is None
        assert old.json()["errors"][0]["extensions"]["code"] == code
        spec = await prod_client.post("/graphql", json={"query": document}, headers=new)
        assert spec.status_code == 400
        assert spec.headers["content-type"] == "application/graphql-response+json"
        assert "data" not in spec.json()
        assert spec.json()["errors"][0]["extensions"]["code"] == code
    coercion = {"query": "query($n: Int) { seriesList(first: $n) { __typename } }"}
    bad = await prod_client.post(
        "/graphql", json={**coercion, "variables": {"n": "x"}}, headers=new
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    ok = await prod_client.post("/graphql", json={"query": "{ __typename }"}, headers=new)
    assert ok.status_code == 200 and ok.json() == {"data": {"__typename": "Query"}}
    assert ok.headers["content-type"] == "application/graphql-response+json"
    # Plain JSON preferred by quality: application/json.
    ranked = {**auth, "Accept": "application/graphql-response+json;q=0.5, application/json"}
    plain = await prod_client.post("/graphql", json={"query": "{ __typename }"}, headers=ranked)
    assert plain.headers["content-type"] == "application/json"


async def test_every_refusal_is_json_with_a_code(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    auth = {"Authorization": f"Bearer {api_keys['read']}"}
    refusals = [
        await prod_client.get("/graphql", params={"query": "{ __typename }"}, headers=auth),
        await prod_client.put("/graphql", json={"query": "{ __typename }"}, headers=auth),
        await prod_client.post("/graphql", json={}, headers=auth),
        await prod_client.post("/graphql", json={"query": 5}, headers=auth),
        await prod_client.post("/graphql", json={"query": "{ a }", "variables": []}, headers=auth),
        await prod_client.post(
            "/graphql", json={"query": "query A { __typename }", "operationName": "B"}, headers=auth
        ),
        await prod_client.post("/graphql", json="{ __typename }", headers=auth),
        await prod_client.post("/graphql", json={"query": "subscription { x }"}, headers=auth),
    ]
    for response in refusals:
        assert response.status_code in (400, 405), response.text
        assert response.headers["content-type"] == "application/json"
        assert response.json()["errors"][0]["extensions"]["code"]
    assert refusals[0].status_code == 405 and refusals[0].headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        ("application/graphql-response+json", "application/graphql-response+json"),
        ("Application/GraphQL-Response+JSON", "application/graphql-response+json"),
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE),
        ("application/json, application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/graphql-response+json;q=0.5, application/json", "application/json"),
        ("application/graphql-response+json;q=0", "application/json"),
        ("application/graphql-response+json;q=x", "application/json"),
    ],
)
def test_response_media_type(accept: str | None, expected: str) -> None:
    headers = Headers({"accept": accept} if accept is not None else {})
    assert response_media_type(headers) == expected
