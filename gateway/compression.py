"""Response compression: JSON (and the metrics text) above a size threshold goes out as zstd,
brotli or gzip, whichever the client's `Accept-Encoding` ranks highest (docs/api.md,
"Compression"; figures in docs/performance.md, "Response compression").

Only a response sent in one piece is compressed (the gateway's JSON and /metrics): a streamed
body (the dashboard's files) and one that already has a `Content-Encoding` (assets gzipped by
their own middleware) pass unchanged. Levels are the cheapest of each coding, because the
gateway is CPU-bound and the lowest levels give nearly all of the reduction on this JSON
(zstd 1 takes 0.8 MB of samples to 8.1 % in 1.4 ms, brotli 1 to 9.2 % in 2.5 ms, gzip 1 to
17.5 % in 6.4 ms). Bodies from `THREAD_BYTES` on are compressed in a worker thread (all three
libraries release the GIL), so a large response does not hold the event loop.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence

import anyio.to_thread
import brotli
import zstandard
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CODINGS", "THREAD_BYTES", "Compression", "negotiate"]


def _zstd(body: bytes) -> bytes:
    # A compressor per call: instances are not safe to share between threads.
    return zstandard.ZstdCompressor(level=1).compress(body)


def _brotli(body: bytes) -> bytes:
    return bytes(brotli.compress(body, quality=1))


def _gzip(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=1, mtime=0)


CODINGS: dict[str, Callable[[bytes], bytes]] = {"zstd": _zstd, "br": _brotli, "gzip": _gzip}
# From 64 KiB a body takes 0.1 (zstd) to 0.5 ms (gzip) to compress, several times a thread
# hand-off; below, compressing on the loop is cheaper than leaving it.
THREAD_BYTES = 64 * 1024
_COMPRESSIBLE = ("application/json", "application/graphql-response+json", "text/plain")


def negotiate(accept_encoding: str, offered: Sequence[str]) -> str | None:
    """The coding of `offered` the header ranks highest (RFC 9110 §12.5.3: q=0 refuses, `*`
    stands for codings not named, `x-gzip` is gzip); ties go to the earlier in `offered`.
    None: identity."""
    ranks: dict[str, float] = {}
    for part in accept_encoding.lower().split(","):
        name, *params = (p.strip() for p in part.split(";"))
        if not name:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = min(1.0, max(0.0, float(value)))
                except ValueError:
                    quality = 0.0
        name = "gzip" if name == "x-gzip" else name
        ranks[name] = max(quality, ranks.get(name, 0.0))
    best: str | None = None
    best_q = 0.0
    for coding in offered:
        quality = ranks.get(coding, ranks.get("*", 0.0))
        if quality > best_q:
            best, best_q = coding, quality
    return best


class Compression:
    """ASGI middleware compressing one-piece responses of a compressible type, from
    `minimum_bytes` on, with the first of `codings` the client ranks highest."""

    def __init__(self, app: ASGIApp, *, minimum_bytes: int, codings: Sequence[str]) -> None:
        unknown = set(codings) - CODINGS.keys()
        if unknown:
            raise ValueError(f"unknown content codings: {sorted(unknown)}")
        self.app = app
        self.minimum_bytes = minimum_bytes
        self.codings = tuple(codings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.codings:
            await self.app(scope, receive, send)
            return
        coding = negotiate(Headers(scope=scope).get("accept-encoding", ""), self.codings)
        start: Message | None = None

        async def compressing_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message  # held until the body shows whether to compress
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            held, start = start, None
            body: bytes = message.get("body", b"")
            headers = MutableHeaders(raw=held["headers"])
            if message.get("more_body", False) or not self._eligible(headers, body):
                await send(held)
                await send(message)
                return
            headers.add_vary_header("Accept-Encoding")
            if coding is not None:
                encoded = await _encode(coding, body)
                if len(encoded) < len(body):
                    body = encoded
                    headers["Content-Encoding"] = coding
                    headers["Content-Length"] = str(len(body))
            await send(held)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, compressing_send)

    def _eligible(self, headers: Headers, body: bytes) -> bool:
        media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
        return (
            len(body) >= self.minimum_bytes
            and media_type in _COMPRESSIBLE
            and "content-encoding" not in headers
        )


async def _encode(coding: str, body: bytes) -> bytes:
    encode = CODINGS[coding]
    if len(body) >= THREAD_BYTES:
        return await anyio.to_thread.run_sync(encode, body)
    return encode(body)
