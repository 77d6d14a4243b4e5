"""GraphQL subscriptions end to end: a real WebSocket client (`websockets`) speaking
graphql-transport-ws to a real gateway under uvicorn (docs/api.md, Subscriptions)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import LiveGateway
from tests.gateway.conftest import Gateway, bearer

PROTOCOL = "graphql-transport-ws"
T0 = datetime(2025, 3, 30, tzinfo=UTC)  # a 23-hour day in Europe/Berlin
SAMPLES = """subscription($keys: [String!]!) {
  samplesAdded(keys: $keys) { sequence key resync samples { timestamps values } } }"""
BUCKETS = """subscription($key: String!, $from: DateTime!) {
  aggregateUpdated(key: $key, every: "P1D", timezone: "Europe/Berlin", from: $from) {
    sequence key resync buckets { starts ends count sum } } }"""
INGEST = """mutation($input: IngestInput!) {
  ingest(input: $input) { inserted updated userErrors { code message } } }"""


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/graphql"


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


async def receive(ws: ClientConnection, wait_s: float = 10) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), wait_s))
    return message


async def closed_with(ws: ClientConnection, wait_s: float = 10) -> tuple[int, str]:
    """The close code and reason the server ended the connection with."""
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), wait_s)
    assert ws.close_code is not None
    return ws.close_code, ws.close_reason or ""


@asynccontextmanager
async def session(base: str, token: str | None = None) -> AsyncIterator[ClientConnection]:
    """A connection past `connection_ack`."""
    async with connect(
        ws_url(base),
        subprotocols=[PROTOCOL],  # type: ignore[list-item]
        max_size=None,
    ) as ws:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await send(ws, {"type": "connection_init", "payload": payload})
        assert await receive(ws) == {"type": "connection_ack"}
        yield ws


async def subscribe(ws: ClientConnection, sid: str, query: str, variables: dict[str, Any]) -> None:
    await send(
        ws, {"id": sid, "type": "subscribe", "payload": {"query": query, "variables": variables}}
    )


async def create_series(sql: asyncpg.Connection, *keys: str) -> None:
    for key in keys:
        await sql.execute(
            "INSERT INTO series (key, name, kind, unit, timezone) "
            "VALUES ($1, $1, 'POWER', 'kW', 'Europe/Berlin')",
            key,
        )


async def ingest(
    base: str, series: list[dict[str, Any]], token: str | None = None
) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            base + "/graphql",
            json={"query": INGEST, "variables": {"input": {"series": series}}},
            headers=bearer(token) if token else {},
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["data"]["ingest"]["userErrors"] == [], body
    return body


def points(key: str, start: datetime, values: list[float], step_min: int = 15) -> dict[str, Any]:
    stamps = [(start + timedelta(minutes=step_min * i)).isoformat() for i in range(len(values))]
    return {"key": key, "timestamps": stamps, "values": values}


# -- data ----------------------------------------------------------------------------------


async def test_samples_added_pushes_each_committed_ingest_in_order(
    live_gateway: LiveGateway, sql: asyncpg.Connection
) -> None:
    await create_series(sql, "a", "b", "c")
    async with session(live_gateway.base_url) as ws:
        await subscribe(ws, "1", SAMPLES, {"keys": ["a", "b"]})
        await asyncio.sleep(0.3)
        await ingest(live_gateway.base_url, [points("a", T0, [1, 2]), points("c", T0, [9])])
        await ingest(live_gateway.base_url, [points("b", T0, [3])])
        first = await receive(ws)
        assert first == {
            "id": "1",
            "type": "next",
            "payload": {
                "data": {
                    "samplesAdded": {
                        "sequence": 1,
                        "key": "a",
                        "resync": False,
                        "samples": {
                            "timestamps": [
                                "2025-03-30T00:00:00+00:00",
                                "2025-03-30T00:15:00+00:00",
                            ],
                            "values": [1.0, 2.0],
                        },
                    }
                }
            },
        }
        second = (await receive(ws))["payload"]["data"]["samplesAdded"]
        assert (second["sequence"], second["key"], second["samples"]["values"]) == (2, "b", [3.0])
        # Completing stops it: the next ingest sends nothing.
        await send(ws, {"id": "1", "type": "complete"})
        await asyncio.sleep(0.2)
        await ingest(live_gateway.base_url, [points("a", T0 + timedelta(hours=1), [4])])
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong"}
        with pytest.raises(TimeoutError):
            await receive(ws, wait_s=0.5)


async def test_aggregate_updated_pushes_the_changed_buckets(
    live_gateway: LiveGateway, sql: asyncpg.Connection
) -> None:
    await create_series(sql, "a")
    await ingest(live_gateway.base_url, [points("a", T0, [1.0] * 4)])
    async with session(live_gateway.base_url) as ws:
        await subscribe(ws, "agg", BUCKETS, {"key": "a", "from": "2025-03-29T00:00:00+01:00"})
        await asyncio.sleep(0.3)
        # 22:00 UTC on the 30th is 00:00 on the 31st in Berlin: the second day's bucket.
        await ingest(live_gateway.base_url, [points("a", T0 + timedelta(hours=1), [2.0])])
        update = (await receive(ws))["payload"]["data"]["aggregateUpdated"]
        assert update["sequence"] == 1 and update["resync"] is False
        # The whole (23-hour) Berlin day, recomputed with the stored points.
        assert update["buckets"] == {
            "starts": ["2025-03-29T23:00:00+00:00"],
            "ends": ["2025-03-30T22:00:00+00:00"],
            "count": [5],
            "sum": [6.0],
        }


# -- auth and limits -----------------------------------------------------------------------


async def test_a_missing_or_wrong_key_is_refused_with_4403(
    prod_live_gateway: LiveGateway, api_keys: dict[str, str]
) -> None:
    for payload in ({}, {"Authorization": "Bearer egw_not_a_key"}, None):
        async with connect(ws_url(prod_live_gateway.base_url), subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
            message: dict[str, Any] = {"type": "connection_init"}
            if payload is not None:
                message["payload"] = payload
            await send(ws, message)
            code, _reason = await closed_with(ws)
            assert code == 4403
    # The header name in any case.
    async with connect(ws_url(prod_live_gateway.base_url), subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await send(
            ws,
            {"type": "connection_init", "payload": {"authorization": f"Bearer {api_keys['read']}"}},
        )
        assert await receive(ws) == {"type": "connection_ack"}


async def test_a_key_without_the_read_scope_gets_an_error_for_that_subscription(
    prod_live_gateway: LiveGateway, api_keys: dict[str, str], sql: asyncpg.Connection
) -> None:
    await create_series(sql, "a")
    async with session(prod_live_gateway.base_url, api_keys["ingest"]) as ws:
        await subscribe(ws, "1", SAMPLES, {"keys": ["a"]})
        message = await receive(ws)
        assert message["type"] == "error" and message["id"] == "1"
        assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"
        # The connection stays usable.
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


async def test_document_limits_and_unknown_series_are_errors(
    live_gateway: LiveGateway, sql: asyncpg.Connection
) -> None:
    await create_series(sql, "a")
    async with session(live_gateway.base_url) as ws:
        aliases = " ".join(f'a{i}: samplesAdded(keys: ["a"]) {{ sequence }}' for i in range(20))
        await subscribe(ws, "1", f"subscription {{ {aliases} }}", {})
        message = await receive(ws)
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"
        await subscribe(ws, "2", SAMPLES, {"keys": ["nope"]})
        message = await receive(ws)
        assert message["id"] == "2"
        assert message["type"] == "next"
        assert message["payload"]["errors"][0]["extensions"]["code"] == "UNKNOWN_SERIES"
        assert await receive(ws) == {"id": "2", "type": "complete"}
        await subscribe(ws, "3", "subscription { nope }", {})
        message = await receive(ws)
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        await subscribe(ws, "4", "{ sites { key } }", {})
        message = await receive(ws)
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_subscriptions_per_connection_are_limited(
    start_gateway: Any, api_keys: dict[str, str], sql: asyncpg.Connection
) -> None:
    await create_series(sql, "a")
    gateway: Gateway = start_gateway(
        "limits", max_subscriptions_per_connection="2", max_ws_connections_per_key="1"
    )
    async with session(gateway.base, api_keys["read"]) as ws:
        for sid in ("1", "2", "3"):
            await subscribe(ws, sid, SAMPLES, {"keys": ["a"]})
        message = await receive(ws)
        assert (message["id"], message["type"]) == ("3", "error")
        assert message["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
        # A second connection of the same key is over the per-key limit.
        async with connect(ws_url(gateway.base), subprotocols=[PROTOCOL]) as other:  # type: ignore[list-item]
            await send(
                other,
                {
                    "type": "connection_init",
                    "payload": {"Authorization": f"Bearer {api_keys['read']}"},
                },
            )
            assert (await closed_with(other))[0] == 4429
        # The first connection still works; completing one makes room for another.
        await send(ws, {"id": "1", "type": "complete"})
        await asyncio.sleep(0.2)
        await subscribe(ws, "4", SAMPLES, {"keys": ["a"]})
        await ingest(gateway.base, [points("a", T0, [1.0])], api_keys["ingest"])
        ids = {(await receive(ws))["id"] for _ in range(2)}
        assert ids == {"2", "4"}
    async with httpx.AsyncClient() as http:
        response = await http.get(gateway.base + "/metrics", headers=bearer(api_keys["read"]))
    metrics = response.text
    assert 'ws_closed_total{code="4429"} 1.0' in metrics
    assert "ws_messages_sent_total 2.0" in metrics


# -- protocol ------------------------------------------------------------------------------


async def test_protocol_errors_close_with_the_protocols_codes(
    live_gateway: LiveGateway, sql: asyncpg.Connection
) -> None:
    await create_series(sql, "a")
    base = live_gateway.base_url
    async with connect(ws_url(base), subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await subscribe(ws, "1", SAMPLES, {"keys": ["a"]})
        assert (await closed_with(ws))[0] == 4401  # subscribe before connection_ack
    async with session(base) as ws:
        await send(ws, {"type": "connection_init"})
        assert (await closed_with(ws))[0] == 4429  # a second connection_init
    async with session(base) as ws:
        await ws.send("not json")
        assert (await closed_with(ws))[0] == 4400
    async with session(base) as ws:
        await send(ws, {"type": "subscribe", "id": "1", "payload": {"query": 5}})
        assert (await closed_with(ws))[0] == 4400
    async with session(base) as ws:
        await send(ws, {"type": "what"})
        assert (await closed_with(ws))[0] == 4400
    async with session(base) as ws:
        await subscribe(ws, "x", 'subscription { samplesAdded(keys: ["a"]) { sequence } }', {})
        await subscribe(ws, "x", 'subscription { samplesAdded(keys: ["a"]) { sequence } }', {})
        code, reason = await closed_with(ws)
        assert code == 4409 and "x" in reason
    async with connect(ws_url(base), subprotocols=["graphql-ws"]) as ws:  # type: ignore[list-item]
        assert (await closed_with(ws))[0] == 4406  # the legacy protocol is not spoken


async def test_a_socket_without_connection_init_is_dropped_with_4408(
    start_gateway: Any,
) -> None:
    gateway: Gateway = start_gateway("idle", ws_init_timeout_s="0.5")
    async with connect(ws_url(gateway.base), subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        assert (await closed_with(ws))[0] == 4408


# -- slow consumers, several processes, shutdown --------------------------------------------


def _client_frame(message: dict[str, Any]) -> bytes:
    """A masked text frame, as a client must send it (RFC 6455 §5.2)."""
    data = json.dumps(message).encode()
    mask = os.urandom(4)
    length = bytes([0x80 | len(data)]) if len(data) < 126 else bytes([0xFE]) + len(data).to_bytes(2)
    return bytes([0x81]) + length + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def stalled_subscriber(port: int, query: str) -> socket.socket:
    """A client that subscribes and then never reads: a raw socket with a small fixed
    receive buffer (a WebSocket library would keep reading into its own buffers)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16_384)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: {PROTOCOL}\r\n\r\n".encode()
    )
    assert sock.recv(4096).startswith(b"HTTP/1.1 101")
    sock.sendall(_client_frame({"type": "connection_init"}))
    assert b"connection_ack" in sock.recv(4096)
    sock.sendall(_client_frame({"id": "s", "type": "subscribe", "payload": {"query": query}}))
    return sock


async def test_a_slow_consumer_is_dropped_and_the_others_keep_their_messages(
    start_gateway: Any, sql: asyncpg.Connection
) -> None:
    await create_series(sql, "a")
    gateway: Gateway = start_gateway("slow", subscription_queue_size="2", env="dev")
    count = 20_000  # about 0.7 MB a message
    stamps = [(T0 - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1) + i * 1000
              for i in range(count)]  # fmt: skip
    values = [float(i) for i in range(count)]
    query = 'subscription { samplesAdded(keys: ["a"]) { sequence samples { timestamps } } }'
    slow = await asyncio.to_thread(stalled_subscriber, gateway.port, query)
    async with session(gateway.base) as fast, httpx.AsyncClient(base_url=gateway.base) as http:
        await subscribe(fast, "f", SAMPLES, {"keys": ["a"]})
        await asyncio.sleep(0.3)
        dropped = False
        for n in range(30):
            shifted = [t + n * count * 1000 for t in stamps]  # a new window each time
            await ingest(
                gateway.base, [{"key": "a", "timestampsMs": shifted, "valuesColumn": values}]
            )
            update = (await receive(fast, wait_s=30))["payload"]["data"]["samplesAdded"]
            assert update["sequence"] == n + 1 and len(update["samples"]["values"]) == count
            if 'ws_closed_total{code="1008"} 1.0' in (await http.get("/metrics")).text:
                dropped = True
                break
        assert dropped, "the slow consumer was never dropped"
        # The fast one is unaffected.
        await send(fast, {"type": "ping"})
        assert await receive(fast) == {"type": "pong"}
    slow.close()


async def test_an_ingest_through_one_process_reaches_subscribers_of_both(
    start_gateway: Any, api_keys: dict[str, str], sql: asyncpg.Connection
) -> None:
    await create_series(sql, "a")
    one: Gateway = start_gateway("one")
    two: Gateway = start_gateway("two")
    token = api_keys["read"]
    async with session(one.base, token) as on_one, session(two.base, token) as on_two:
        await subscribe(on_one, "1", SAMPLES, {"keys": ["a"]})
        await subscribe(on_two, "1", SAMPLES, {"keys": ["a"]})
        await asyncio.sleep(0.5)
        await ingest(two.base, [points("a", T0, [7.0])], api_keys["ingest"])
        for ws in (on_one, on_two):
            update = (await receive(ws))["payload"]["data"]["samplesAdded"]
            assert (update["sequence"], update["key"], update["samples"]["values"]) == (
                1,
                "a",
                [7.0],
            )


async def test_shutdown_closes_sockets_with_1012(
    start_gateway: Any, api_keys: dict[str, str]
) -> None:
    gateway: Gateway = start_gateway("stop")
    async with session(gateway.base, api_keys["read"]) as ws:
        gateway.process.terminate()
        code, _reason = await closed_with(ws, wait_s=20)
        assert code == 1012
    assert gateway.process.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises it
