"""The gateway serves the built dashboard: view paths answer with the page (SPA fallback),
assets with a long cache, every page with the security headers; GraphiQL to browsers in both
modes, never a query sent by GET, and no introspection in production.

These tests use a small build folder of their own so they run without Node; the browser
tests (test_browser.py) exercise the real build.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

import gateway.app
from gateway.frontend import NOT_BUILT, SECURITY_HEADERS, frontend_routes
from gateway.settings import Settings
from tests.conftest import client_for, started_app

INDEX = "<!doctype html><title>dashboard</title><script type=module src=/assets/app.js></script>"
GRAPHIQL = "<!doctype html><title>GraphiQL</title>"


@pytest.fixture
def build(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "graphiql.html").write_text(GRAPHIQL)
    (tmp_path / "assets" / "app.js").write_text("console.log('dashboard');\n" * 100)
    return tmp_path


@pytest.fixture
async def static_client(build: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(Starlette(routes=frontend_routes(build))) as client:
        yield client


def _has_security_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    csp = response.headers["Content-Security-Policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert "http" not in csp  # no other origin, CDN or otherwise


@pytest.mark.parametrize(
    "path",
    ["/", "/site/demo", "/site/a%2Fb", "/market/DE-LU", "/series?keys=a,b&from=x", "/scenario/s1"],
)
async def test_view_paths_answer_with_the_dashboard(
    static_client: httpx.AsyncClient, path: str
) -> None:
    response = await static_client.get(path)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["Cache-Control"] == "no-cache"
    _has_security_headers(response)


async def test_assets_are_cached_and_carry_the_headers(static_client: httpx.AsyncClient) -> None:
    response = await static_client.get("/assets/app.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Encoding"] == "gzip"  # httpx asks for it and decodes
    assert response.text == "console.log('dashboard');\n" * 100
    _has_security_headers(response)
    missing = await static_client.get("/assets/nope.js")
    assert missing.status_code == 404
    assert "immutable" not in missing.headers.get("Cache-Control", "")
    _has_security_headers(missing)


async def test_other_paths_are_not_the_dashboard(static_client: httpx.AsyncClient) -> None:
    assert (await static_client.get("/sites")).status_code == 404
    assert (await static_client.get("/series/extra")).status_code == 404
    assert (await static_client.post("/")).status_code == 405


async def test_without_a_build_the_pages_say_how_to_build(tmp_path: Path) -> None:
    async with client_for(Starlette(routes=frontend_routes(tmp_path / "none"))) as client:
        for path in ("/", "/site/demo", "/assets/app.js"):
            response = await client.get(path)
            assert response.status_code == 404
            assert response.text == NOT_BUILT
            _has_security_headers(response)


@pytest.fixture
def built_app_static(build: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(gateway.app, "STATIC_DIR", build)
    return build


async def test_development_serves_graphiql_to_browsers_and_the_api_to_clients(
    built_app_static: Path, settings: Settings, clean_sites: None
) -> None:
    async with started_app(settings) as app, client_for(app) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html,*/*"})
        assert page.status_code == 200 and page.text == GRAPHIQL
        _has_security_headers(page)
        # Other tests of the session may have stored sites: any list is the API's answer.
        api = await client.post("/graphql", json={"query": "{ sites { key } }"})
        assert api.status_code == 200 and isinstance(api.json()["data"]["sites"], list)
        for path in ("/healthz", "/metrics"):
            assert (await client.get(path)).status_code == 200
        home = await client.get("/")
        assert home.status_code == 200 and home.text == INDEX


# A mutation in a browser's URL: it must come back as the page, never be executed.
SITE_FROM_URL = (
    'mutation { upsertSite(input: {key: "from-a-url", tariff: {kind: FIXED, importPriceCt: 30}})'
    " { userErrors { code } } }"
)


async def test_production_serves_the_dashboard_and_graphiql_without_introspection(
    built_app_static: Path, prod_settings: Settings, api_keys: dict[str, str]
) -> None:
    every_scope = {"Authorization": f"Bearer {api_keys['all']}"}
    async with started_app(prod_settings) as app, client_for(app) as client:
        home = await client.get("/site/demo")
        assert home.status_code == 200 and home.text == INDEX
        _has_security_headers(home)
        # The IDE page is static (it carries the committed schema): no key needed to load it,
        # and a query in its URL is not run, even with a key that may run it.
        for headers in ({}, every_scope):
            ide = await client.get(
                "/graphql",
                params={"query": SITE_FROM_URL},
                headers={**headers, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
            )
            assert ide.status_code == 200 and ide.text == GRAPHIQL
            assert ide.headers["Cache-Control"] == "no-cache"
            _has_security_headers(ide)
        # A GET without text/html goes to the API, which refuses every GET (405, JSON body)
        # before it looks at a key.
        api_get = await client.get("/graphql", params={"query": SITE_FROM_URL})
        assert api_get.status_code == 405 and api_get.json()["errors"]
        api_get = await client.get("/graphql", params={"query": SITE_FROM_URL}, headers=every_scope)
        assert api_get.status_code in (400, 405)
        # The page's API calls need a key: 401 without one (the page then asks for it).
        anonymous = await client.post("/graphql", json={"query": "{ sites { key } }"})
        assert anonymous.status_code == 401
        read = {"Authorization": f"Bearer {api_keys['read']}"}
        sites = await client.post("/graphql", json={"query": "{ sites { key } }"}, headers=read)
        assert sites.status_code == 200
        assert "from-a-url" not in {site["key"] for site in sites.json()["data"]["sites"]}
        # Introspection stays off: the IDE's schema comes from the page, not from the API.
        schema = await client.post(
            "/graphql", json={"query": "{ __schema { queryType { name } } }"}, headers=read
        )
        assert schema.json().get("data") is None and schema.json()["errors"]
