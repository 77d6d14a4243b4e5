"""The dashboard and GraphiQL pages: static files built from frontend/ (docs/frontend.md).

`npm run build` in frontend/ writes them to gateway/static/, which the wheel carries as a
build artifact. The dashboard is a single-page app: its view paths (/site/..., /market/...,
/series) all answer with index.html, and the browser's router picks the view. Every response
carries the security headers below; nothing is loaded from another origin.
"""

from __future__ import annotations

from pathlib import Path

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SECURITY_HEADERS", "STATIC_DIR", "FrontendPages", "GraphiQLPage", "frontend_routes"]

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Scripts only from this origin (no inline scripts, no eval, no CDN). Styles allow inline
# attributes because the chart and editor libraries position elements with them; fonts and
# images may be data: URLs (GraphiQL embeds its fonts).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
NOT_BUILT = (
    "The dashboard is not built. Run `npm ci && npm run build` in frontend/ "
    "(see docs/frontend.md); the GraphQL API at /graphql works without it."
)
# Hashed file names never change content: cache for a year. Pages are revalidated.
_IMMUTABLE = "public, max-age=31536000, immutable"


class _Assets(StaticFiles):
    """Static files whose 404 is a response (so it gets the headers), not an exception."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            return PlainTextResponse(exc.detail, exc.status_code)


class _SecurityHeaders:
    """Adds the security headers (and a cache policy) to every response of the wrapped app."""

    def __init__(self, app: ASGIApp, cache_control: str) -> None:
        self.app = app
        self.cache_control = cache_control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(SECURITY_HEADERS)
                if message["status"] == 200:
                    headers.setdefault("Cache-Control", self.cache_control)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class FrontendPages:
    """The two HTML pages of a build folder, answered with the security headers."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def page(self, name: str) -> Response:
        path = self.directory / name
        if not path.is_file():
            return PlainTextResponse(NOT_BUILT, 404, headers=SECURITY_HEADERS)
        return FileResponse(path, headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})

    async def dashboard(self, request: Request) -> Response:
        return self.page("index.html")

    async def graphiql(self, request: Request) -> Response:
        return self.page("graphiql.html")


class GraphiQLPage:
    """In front of the /graphql endpoint: a browser's GET (Accept: text/html) gets the bundled
    GraphiQL page, in production too: the page carries the committed schema, so it needs no
    introspection, and sends the tab's API key with each query. Everything else, a GET without
    `text/html` included, goes on to the API, which executes POST only."""

    def __init__(self, api: ASGIApp, pages: FrontendPages) -> None:
        self.api = api
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "GET" and "text/html" in Headers(scope=scope).get("accept", ""):
            await self.pages.page("graphiql.html")(scope, receive, send)
        else:
            await self.api(scope, receive, send)


async def _not_built(request: Request) -> Response:
    return PlainTextResponse(NOT_BUILT, 404, headers=SECURITY_HEADERS)


def frontend_routes(directory: Path = STATIC_DIR) -> list[BaseRoute]:
    """`/` and the dashboard's view paths, and /assets/ with the built files."""
    pages = FrontendPages(directory)
    if (directory / "assets").is_dir():
        assets: BaseRoute = Mount(
            "/assets",
            app=_SecurityHeaders(
                GZipMiddleware(_Assets(directory=directory / "assets")), _IMMUTABLE
            ),
        )
    else:
        assets = Route("/assets/{path:path}", _not_built)
    return [
        Route("/", pages.dashboard, methods=["GET", "HEAD"]),
        Route("/site/{key:path}", pages.dashboard, methods=["GET", "HEAD"]),
        Route("/market/{zone:path}", pages.dashboard, methods=["GET", "HEAD"]),
        Route("/series", pages.dashboard, methods=["GET", "HEAD"]),
        Route("/scenario/{key:path}", pages.dashboard, methods=["GET", "HEAD"]),
        assets,
    ]
