"""uvicorn's httptools protocol with a header deadline and a header size cap.

uvicorn closes a kept-alive connection that stays idle after a response, but it arms no timer
on a fresh connection and none while a request's headers trickle in, and httptools accepts
headers of any size. So a few silent sockets, or one byte a second, could hold a connection
for ever. Here a connection must deliver its request line and headers within `header_timeout_s`
(counted from the moment it opens, or from the first byte of a later request on the same
connection) and in at most `max_header_bytes`; otherwise it is closed (431 for oversized
headers). Each refusal is logged and reported through `on_refusal` for the metrics.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["guarded_protocol"]

log = logging.getLogger("gateway.connections")


class _HeadersTooLarge(Exception):
    pass


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout_s: float = 10.0
    max_header_bytes: int = 32 * 1024
    on_refusal: Callable[[str], None] = staticmethod(lambda reason: None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._headers_too_large = False

    def _arm_header_deadline(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(
                self.header_timeout_s, self._header_timeout
            )

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _header_timeout(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            log.warning("closed a connection: no complete request headers within the deadline")
            self.on_refusal("header_timeout")
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._arm_header_deadline()

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.max_header_bytes:
            self._headers_too_large = True
            raise _HeadersTooLarge  # httptools stops parsing; data_received answers below

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if not self._headers_too_large:
            super().send_400_response(msg)
            return
        log.warning("refused a request: headers larger than %d bytes", self.max_header_bytes)
        self.on_refusal("header_too_large")
        body = b"request headers too large"
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + body
        )
        self.transport.close()


def guarded_protocol(
    header_timeout_s: float, max_header_bytes: int, on_refusal: Callable[[str], None]
) -> type[GuardedHttpToolsProtocol]:
    """A protocol class for `uvicorn.Config(http=...)` with these settings."""
    return type(
        "GatewayHttpProtocol",
        (GuardedHttpToolsProtocol,),
        {
            "header_timeout_s": header_timeout_s,
            "max_header_bytes": max_header_bytes,
            "on_refusal": staticmethod(on_refusal),
        },
    )
