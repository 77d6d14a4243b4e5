"""Connections cannot be hoarded (issue 10, attack 2), against a real `python -m gateway serve`
process and raw sockets: silent sockets, a slowloris on the headers or on the body, oversized
headers and idle kept-alive connections are closed by the server, `/healthz` answers all the
while, and the refusals are counted in /metrics and logged. A client that leaves mid-body is
logged as 499, not 413.

The timeouts are set to one second here so that the tests are quick; the waits below are
generous bounds for a loaded machine, not performance assertions.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

from tests.gateway.conftest import Gateway

FAST = {
    "header_timeout_s": "1",
    "body_timeout_s": "1",
    "keep_alive_timeout_s": "1",
    "metrics_public": "true",
}
CLOSE_WITHIN_S = 15.0


@contextmanager
def connected(gateway: Gateway) -> Iterator[socket.socket]:
    sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=CLOSE_WITHIN_S)
    try:
        yield sock
    finally:
        sock.close()


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or the bound passes)."""
    sock.settimeout(CLOSE_WITHIN_S)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def closed_by_server(sock: socket.socket) -> bool:
    try:
        read_until_closed(sock)
    except TimeoutError:
        return False
    return True


def refused(gateway: Gateway, reason: str) -> float:
    text = httpx.get(f"{gateway.base}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "refused_total" and sample.labels.get("reason") == reason:
                return float(sample.value)
    return 0.0


def healthy(gateway: Gateway) -> bool:
    return httpx.get(f"{gateway.base}/healthz", timeout=5).status_code == 200


def test_silent_sockets_neither_lock_out_others_nor_stay_open(start_gateway: Any) -> None:
    gateway = start_gateway("idle", **FAST)
    sockets = [
        socket.create_connection(("127.0.0.1", gateway.port), timeout=CLOSE_WITHIN_S)
        for _ in range(150)  # more than uvicorn's old limit of 100 connections
    ]
    try:
        assert healthy(gateway)  # a 503 for everyone before
        ok = httpx.post(f"{gateway.base}/graphql", json={"query": "{ __typename }"}, timeout=5)
        assert ok.status_code == 401  # answered: no key
        started = time.monotonic()
        assert all(closed_by_server(s) for s in sockets)
        closed_after = time.monotonic() - started
    finally:
        for s in sockets:
            s.close()
    print(f"\n150 silent sockets closed by the server {closed_after:.2f} s after the check")
    assert refused(gateway, "header_timeout") >= 150
    assert "no complete request headers" in gateway.log.read_text()


def test_slowloris_headers_are_cut_and_health_answers(start_gateway: Any) -> None:
    gateway = start_gateway("slow-headers", **FAST)
    with connected(gateway) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        cut = False
        while time.monotonic() - started < CLOSE_WITHIN_S:
            try:
                sock.sendall(b"X")  # one byte of a header every 0.2 s, never finished
            except (BrokenPipeError, ConnectionResetError):
                cut = True
                break
            assert healthy(gateway)
            time.sleep(0.2)
        assert cut, "the server kept a trickling request open"
    assert refused(gateway, "header_timeout") >= 1


def test_slowloris_body_gets_408(start_gateway: Any, api_keys: dict[str, str]) -> None:
    gateway = start_gateway("slow-body", **FAST)
    head = (
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {api_keys['read']}\r\nContent-Length: 1000\r\n\r\n"
    )
    with connected(gateway) as sock:
        sock.sendall(head.encode())
        started = time.monotonic()
        response = b""
        sock.settimeout(0.2)
        while time.monotonic() - started < CLOSE_WITHIN_S and not response:
            try:
                sock.sendall(b" ")
                response = sock.recv(65536)
            except TimeoutError:
                assert healthy(gateway)
            except (BrokenPipeError, ConnectionResetError):
                break
        assert response.startswith(b"HTTP/1.1 408"), response[:200]
        assert b"REQUEST_TIMEOUT" in response + read_until_closed(sock)
    assert refused(gateway, "body_timeout") == 1


def test_oversized_headers_get_431(start_gateway: Any) -> None:
    gateway = start_gateway("big-headers", **FAST)
    with connected(gateway) as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 64 * 1024 + b"\r\n\r\n"
        )
        response = read_until_closed(sock)
    assert response.startswith(b"HTTP/1.1 431"), response[:200]
    with connected(gateway) as sock:  # many small headers count together
        headers = b"".join(b"X-%d: %s\r\n" % (i, b"b" * 100) for i in range(400))
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        assert read_until_closed(sock).startswith(b"HTTP/1.1 431")
    assert refused(gateway, "header_too_large") == 2
    assert healthy(gateway)


def test_idle_keep_alive_connections_are_closed(start_gateway: Any) -> None:
    gateway = start_gateway("keep-alive", **FAST)
    with connected(gateway) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        response = sock.recv(65536)
        assert response.startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert closed_by_server(sock)
        print(f"\nidle kept-alive connection closed after {time.monotonic() - started:.2f} s")


def test_a_client_leaving_mid_body_is_logged_as_499(
    start_gateway: Any, api_keys: dict[str, str]
) -> None:
    gateway = start_gateway("disconnect", **FAST)
    head = (
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {api_keys['read']}\r\nContent-Length: 1000\r\n\r\n"
    )
    with connected(gateway) as sock:
        sock.sendall(head.encode() + b'{"query": ')
        time.sleep(0.3)
    deadline = time.monotonic() + CLOSE_WITHIN_S
    access: list[dict[str, Any]] = []
    while not access and time.monotonic() < deadline:
        time.sleep(0.1)
        lines = [orjson.loads(x) for x in gateway.log.read_text().splitlines()]
        access = [r for r in lines if r.get("path") == "/graphql"]
    assert [r["status"] for r in access] == [499], access  # 413 before


async def test_health_answers_while_graphql_requests_fill_every_slot(
    start_gateway: Any, api_keys: dict[str, str], sql: Any
) -> None:
    """With the in-app limit reached, /graphql answers 503 at once and the health and
    metrics endpoints answer 200."""
    gateway = start_gateway("slots", max_graphql_requests="2", **FAST)
    headers = {"Authorization": f"Bearer {api_keys['read']}"}
    read = {
        "query": '{ series(key: "x") { samples(from: "2025-01-01T00:00:00Z", '
        'to: "2025-01-02T00:00:00Z") { values } } }'
    }
    async with httpx.AsyncClient(base_url=gateway.base, timeout=30) as client:
        async with sql.transaction():
            await sql.execute("LOCK TABLE series IN ACCESS EXCLUSIVE MODE")
            held = [
                asyncio.create_task(client.post("/graphql", json=read, headers=headers))
                for _ in range(2)
            ]
            await asyncio.sleep(1.0)
            extra = await client.post("/graphql", json=read, headers=headers)
            assert extra.status_code == 503 and extra.headers["Retry-After"]
            for path in ("/healthz", "/readyz", "/metrics"):
                assert (await client.get(path)).status_code == 200, path
        assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200]
    assert refused(gateway, "overloaded") == 1
