"""Response compression: negotiated from Accept-Encoding with q-values, only above the size
threshold, never over an existing Content-Encoding or a streamed body; the decoded body is
the uncompressed one (docs/api.md, "Compression")."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Callable

import brotli
import httpx
import pytest
import zstandard
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gateway.compression import THREAD_BYTES, Compression, negotiate
from tests.conftest import Gql
from tests.resolvers.helpers import INGEST, UPSERT, ingest_input, quarter_hours, series_input

OFFERED = ("zstd", "br", "gzip")
DECODE: dict[str, Callable[[bytes], bytes]] = {
    "zstd": lambda b: zstandard.ZstdDecompressor().decompress(b),
    "br": lambda b: brotli.decompress(b),
    "gzip": lambda b: gzip.decompress(b),
}


@pytest.mark.parametrize(
    ("header", "coding"),
    [
        ("gzip", "gzip"),
        ("gzip, br", "br"),  # equal q: the server's preference
        ("gzip, deflate, br, zstd", "zstd"),
        ("zstd;q=0.5, gzip", "gzip"),
        ("zstd;q=0.5, br;q=0.9, gzip;q=0.1", "br"),
        ("GZIP;Q=0.8", "gzip"),
        ("x-gzip", "gzip"),
        ("gzip;q=0", None),
        ("gzip;q=0, zstd;q=0, br;q=0", None),
        ("*", "zstd"),
        ("*;q=0.5, zstd;q=0, br;q=0", "gzip"),
        ("br;q=abc, gzip", "gzip"),
        ("identity", None),
        ("deflate", None),
        ("", None),
    ],
)
def test_negotiation(header: str, coding: str | None) -> None:
    assert negotiate(header, OFFERED) == coding


QUERY = """query($from: DateTime!, $to: DateTime!) { series(key: "z") {
  samples(from: $from, to: $to) { timestamps values truncated } } }"""


@pytest.fixture
async def samples_query(gql: Gql) -> AsyncIterator[dict[str, object]]:
    times = quarter_hours("2026-01-01T00:00:00Z", "2026-02-15T00:00:00Z")  # 4,320: ~150 kB
    await gql(UPSERT, {"input": series_input("z", resolution="PT15M")})
    values = [round(i * 0.37 % 11, 3) for i in range(len(times))]
    body = await gql(INGEST, {"input": ingest_input("z", times, values)})
    assert body["data"]["ingest"]["userErrors"] == []
    yield {"query": QUERY, "variables": {"from": times[0], "to": times[0][:8] + "02T00:00Z"}}


async def _raw(
    client: httpx.AsyncClient, payload: dict[str, object], accept_encoding: str
) -> tuple[httpx.Headers, bytes]:
    """The response's headers and its bytes as sent (not decoded by httpx)."""
    request = client.build_request(
        "POST", "/graphql", json=payload, headers={"Accept-Encoding": accept_encoding}
    )
    response = await client.send(request, stream=True)
    raw = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    assert response.status_code == 200
    return response.headers, raw


@pytest.mark.parametrize("coding", OFFERED)
@pytest.mark.parametrize("days", [1, 44])  # ~3 kB on the loop, ~150 kB in a thread
async def test_negotiated_coding_decodes_to_the_same_body(
    client: httpx.AsyncClient, samples_query: dict[str, object], coding: str, days: int
) -> None:
    variables = dict(samples_query["variables"])  # type: ignore[call-overload]
    variables["to"] = f"2026-01-{1 + days:02d}T00:00:00Z" if days < 31 else "2026-02-14T00:00:00Z"
    payload = {**samples_query, "variables": variables}
    plain_headers, plain = await _raw(client, payload, "identity")
    assert "content-encoding" not in plain_headers
    assert "Accept-Encoding" in plain_headers["vary"]  # dev mode's CORS adds Origin
    assert (len(plain) >= THREAD_BYTES) == (days > 1)
    headers, raw = await _raw(client, payload, f"{coding}, identity;q=0.5")
    assert headers["content-encoding"] == coding
    assert "Accept-Encoding" in headers["vary"]
    assert int(headers["content-length"]) == len(raw) < len(plain) / 3
    assert DECODE[coding](raw) == plain


async def test_refused_codings_are_not_used(
    client: httpx.AsyncClient, samples_query: dict[str, object]
) -> None:
    headers, raw = await _raw(client, samples_query, "gzip;q=0, br;q=0, zstd;q=0")
    assert "content-encoding" not in headers and raw.startswith(b'{"data"')
    assert int(headers["content-length"]) == len(raw)


async def test_small_bodies_are_not_compressed(client: httpx.AsyncClient) -> None:
    headers, raw = await _raw(client, {"query": "{ __typename }"}, "zstd, br, gzip")
    assert raw == b'{"data":{"__typename":"Query"}}'
    assert "content-encoding" not in headers
    assert "Accept-Encoding" not in headers.get("vary", "")


def _inner() -> Starlette:
    """Responses of each kind the gateway sends, without compression of their own."""

    async def json(_: object) -> Response:
        return JSONResponse({"values": list(range(500))})

    async def encoded(_: object) -> Response:
        body = gzip.compress(b"x" * 5000)  # like the assets, gzipped before this middleware
        return Response(body, headers={"Content-Encoding": "gzip"}, media_type="text/plain")

    async def streamed(_: object) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"a": "' + b"x" * 5000
            yield b'"}'

        return StreamingResponse(chunks(), media_type="application/json")

    async def html(_: object) -> Response:
        return Response("<p>" * 2000, media_type="text/html")

    return Starlette(routes=[Route(f"/{f.__name__}", f) for f in (json, encoded, streamed, html)])


@pytest.mark.parametrize(
    ("path", "coding"),
    [("/json", "zstd"), ("/encoded", "gzip"), ("/streamed", None), ("/html", None)],
)
async def test_only_one_piece_compressible_bodies_without_a_coding(
    path: str, coding: str | None
) -> None:
    transport = httpx.ASGITransport(app=Compression(_inner(), minimum_bytes=100, codings=OFFERED))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get(path, headers={"Accept-Encoding": "zstd, gzip"})
        assert response.headers.get("content-encoding") == coding
        assert response.status_code == 200 and len(response.content) > 1000


def test_unknown_codings_are_refused_at_start() -> None:
    with pytest.raises(ValueError, match="deflate"):
        Compression(_inner(), minimum_bytes=0, codings=["deflate"])
