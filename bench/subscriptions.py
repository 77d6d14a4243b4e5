"""`python -m bench.subscriptions`: live updates under many subscribers (issue 12; results in
docs/performance.md, "Subscriptions").

A real gateway (uvicorn subprocess, scratch database). `--subscribers` WebSocket connections
(graphql-transport-ws), each with one `samplesAdded` subscription on one of `--series` series
(round robin). Once a second (`--rate`) one `ingest` call writes the next point of every
series. Measured:

- latency: from the moment the ingest's HTTP response has arrived to each subscriber's
  message for that ingest (negative when the message beat the response);
- the baseline of the same run: the same span to a raw asyncpg `LISTEN sample_changes` in this
  process, i.e. PostgreSQL's own notification delivery, which every gateway message waits for;
- loss and duplication: each subscriber must see sequence 1, 2, 3, ... with one message per
  ingest, in order; a gap, a repeat or a `resync` is counted;
- the gateway process's peak RSS (VmHWM) with every subscription open, and its RSS then.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import numpy as np
import orjson
from websockets.asyncio.client import ClientConnection, connect

from bench.scratch import create_scratch_database, drop_database
from bench.server import GatewayProcess, add_database_url, start_gateway
from db.changes import CHANNEL

__all__ = ["main"]

RETRIED = [0]  # ingest calls answered 503 and retried

START = datetime(2025, 6, 1, tzinfo=UTC)
_UPSERT = "mutation($input: SeriesInput!) { upsertSeries(input: $input) { key } }"
_INGEST = (
    "mutation($input: IngestInput!) { ingest(input: $input) { inserted userErrors { code } } }"
)
_SUBSCRIBE = (
    "subscription($keys: [String!]!) { samplesAdded(keys: $keys) "
    "{ sequence key resync samples { timestamps values } } }"
)


@dataclass
class Subscriber:
    key: str
    arrivals: dict[int, float] = field(default_factory=dict)  # ingest number -> receipt time
    sequences: list[int] = field(default_factory=list)  # of the current subscription
    subscription: int = 1  # its id; a new one after an error (sequences restart at 1)
    errors: int = 0
    duplicates: int = 0
    resyncs: int = 0
    out_of_order: int = 0


def _ingest_number(timestamp: str) -> int:
    return round((datetime.fromisoformat(timestamp) - START).total_seconds())


async def _send_subscribe(ws: ClientConnection, sub: Subscriber) -> None:
    payload = {"query": _SUBSCRIBE, "variables": {"keys": [sub.key]}}
    message = {"id": str(sub.subscription), "type": "subscribe", "payload": payload}
    await ws.send(orjson.dumps(message).decode())


async def _subscribe(url: str, sub: Subscriber) -> None:
    async with connect(url, subprotocols=["graphql-transport-ws"], max_size=None) as ws:  # type: ignore[list-item]
        await ws.send(orjson.dumps({"type": "connection_init", "payload": {}}).decode())
        assert orjson.loads(await ws.recv())["type"] == "connection_ack"
        await _send_subscribe(ws, sub)
        await _receive(ws, sub)


async def _receive(ws: ClientConnection, sub: Subscriber) -> None:
    async for raw in ws:
        now = time.perf_counter()
        message = orjson.loads(raw)
        if message["type"] == "ping":
            await ws.send('{"type":"pong"}')
            continue
        if message["type"] == "complete" or message.get("id") != str(sub.subscription):
            continue
        if message["type"] != "next" or message["payload"].get("errors"):
            # Refused (e.g. the pool was busy when 200 subscriptions arrived at once): as a
            # client would, subscribe again a moment later.
            sub.errors += 1
            sub.subscription += 1
            sub.sequences = []
            await asyncio.sleep(0.5)
            await _send_subscribe(ws, sub)
            continue
        update = message["payload"]["data"]["samplesAdded"]
        sequence = update["sequence"]
        if sub.sequences and sequence <= sub.sequences[-1]:
            sub.out_of_order += 1
        sub.sequences.append(sequence)
        if update["resync"]:
            sub.resyncs += 1
            continue
        for timestamp in update["samples"]["timestamps"]:
            n = _ingest_number(timestamp)
            if n in sub.arrivals:
                sub.duplicates += 1
            else:
                sub.arrivals[n] = now


async def _ingest(http: httpx.AsyncClient, url: str, keys: list[str], n: int) -> None:
    """Point number `n` (START + n seconds) of every series, in one call."""
    moment = (START + timedelta(seconds=n)).isoformat()
    series = [{"key": k, "timestamps": [moment], "values": [float(n)]} for k in keys]
    variables = {"input": {"series": series}}
    for attempt in range(5):
        response = await http.post(url, json={"query": _INGEST, "variables": variables})
        body = response.json()
        if response.status_code != 503:
            break
        RETRIED[0] += 1  # the database was busy: retry as a client would, after a moment
        await asyncio.sleep(0.5 * (attempt + 1))
    result = (body.get("data") or {}).get("ingest")
    if not result or result["userErrors"] or result["inserted"] != len(keys):
        raise RuntimeError(f"ingest {n} failed: {body}")


async def _warm_up(
    http: httpx.AsyncClient, url: str, keys: list[str], subscribers: list[Subscriber]
) -> int:
    """Ingest points before START until every subscriber has heard one: every subscription
    is registered then. Returns the ingests it took."""
    for k in range(1, 120):
        await _ingest(http, url, keys, -k)
        await asyncio.sleep(2.0)
        if all(any(n < 0 for n in s.arrivals) for s in subscribers):
            return k
    raise RuntimeError("subscribers did not all register within the warm-up")


async def _raw_listener(url: str, arrivals: dict[int, float]) -> asyncpg.Connection:
    """The baseline: PostgreSQL's notification to a plain asyncpg listener."""
    conn = await asyncpg.connect(url)
    counter = [0]

    def heard(_conn: object, _pid: int, _channel: str, _payload: str) -> None:
        counter[0] += 1
        arrivals[counter[0]] = time.perf_counter()

    await conn.add_listener(CHANNEL, heard)
    return conn


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return (float("nan"),) * 3
    a = np.array(values) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 99)), float(a.max())


def _mb(n: int) -> str:
    return f"{n / 1e6:.0f} MB"


async def _run(args: argparse.Namespace) -> int:
    url = await create_scratch_database(args.database_url, "bench_subs")
    log_dir = Path(tempfile.mkdtemp(prefix="bench-subs-"))
    gateway: GatewayProcess | None = None
    try:
        gateway = start_gateway(url, log_dir / "gateway.log", start_timeout_s=120)
        base = gateway.url.removesuffix("/graphql")
        ws_url = base.replace("http://", "ws://") + "/graphql"
        keys = [f"live:{i:02d}" for i in range(args.series)]
        async with httpx.AsyncClient(timeout=30) as http:
            for key in keys:
                series_input = {"key": key, "kind": "POWER", "unit": "kW"}
                body = {"query": _UPSERT, "variables": {"input": series_input}}
                (await http.post(gateway.url, json=body)).raise_for_status()
            rss_idle = gateway.rss_bytes()
            subscribers = [Subscriber(keys[i % len(keys)]) for i in range(args.subscribers)]
            tasks = [asyncio.create_task(_subscribe(ws_url, s)) for s in subscribers]
            warm_up = await _warm_up(http, gateway.url, keys, subscribers)
            rss_open = gateway.rss_bytes()
            baseline = {id(s): len(s.sequences) for s in subscribers}
            errors_before = sum(s.errors for s in subscribers)
            raw_arrivals: dict[int, float] = {}
            listener = await _raw_listener(url, raw_arrivals)
            responses: dict[int, float] = {}
            ingests = max(1, round(args.seconds * args.rate))
            began = time.perf_counter()
            for n in range(1, ingests + 1):
                at = began + (n - 1) / args.rate
                await asyncio.sleep(max(0.0, at - time.perf_counter()))
                await _ingest(http, gateway.url, keys, n)
                responses[n] = time.perf_counter()
            await asyncio.sleep(args.drain_seconds)
            peak = gateway.peak_rss_bytes()
            rss_end = gateway.rss_bytes()
            await listener.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        if gateway is not None:
            gateway.stop()
        await drop_database(args.database_url, url)

    latencies = [t - responses[n] for s in subscribers for n, t in s.arrivals.items() if n > 0]
    raw = [t - responses[n] for n, t in raw_arrivals.items() if n in responses]
    expected = ingests * len(subscribers)
    received = sum(1 for s in subscribers for n in s.arrivals if n > 0)
    # Sequences of the measured part: contiguous, and one per ingest.
    gaps = sum(
        sum(1 for a, b in zip(s.sequences, s.sequences[1:], strict=False) if b != a + 1)
        + (1 if s.sequences and s.sequences[0] != 1 else 0)
        + abs(len(s.sequences) - baseline[id(s)] - ingests)
        for s in subscribers
    )
    errors = sum(s.errors for s in subscribers) - errors_before
    lost = expected - received
    duplicates = sum(s.duplicates for s in subscribers)
    resyncs = sum(s.resyncs for s in subscribers)
    disorder = sum(s.out_of_order for s in subscribers)
    p50, p99, worst = _percentiles(latencies)
    r50, r99, rworst = _percentiles(raw)
    print(
        f"{len(subscribers)} subscribers (one WebSocket each) on {len(keys)} series, "
        f"{ingests} ingests at {args.rate:g}/s ({args.seconds:g} s), one point per series each\n"
    )
    print("| measure | p50 | p99 | max |")
    print("|---|---|---|---|")
    print(f"| ingest response -> subscriber message (ms) | {p50:.1f} | {p99:.1f} | {worst:.1f} |")
    print(
        "| ingest response -> raw asyncpg NOTIFY (baseline, ms) | "
        f"{r50:.1f} | {r99:.1f} | {rworst:.1f} |"
    )
    print()
    print("| check | value |")
    print("|---|---|")
    print(f"| messages expected / received | {expected} / {received} |")
    print(f"| lost | {lost} |")
    print(f"| duplicated | {duplicates} |")
    print(f"| sequence gaps / out of order | {gaps} / {disorder} |")
    print(f"| resync messages | {resyncs} |")
    print(f"| ingest calls retried after a 503 | {RETRIED[0]} |")
    print(
        f"| subscribe refusals: during warm-up ({warm_up} ingests) / measured | "
        f"{errors_before} / {errors} |"
    )
    print(
        f"| gateway RSS: idle / {len(subscribers)} subscriptions open / end | "
        f"{_mb(rss_idle)} / {_mb(rss_open)} / {_mb(rss_end)} |"
    )
    print(f"| gateway peak RSS (VmHWM) | {_mb(peak)} |")
    ok = not (lost or duplicates or gaps or disorder or resyncs or errors)
    print(f"\nsequence check: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.subscriptions", description=__doc__)
    add_database_url(parser)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--series", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=300.0, help="ingest duration")
    parser.add_argument("--rate", type=float, default=1.0, help="ingests per second")
    parser.add_argument("--drain-seconds", type=float, default=3.0, help="wait after the last")
    parser.add_argument("--smoke", action="store_true", help="20 subscribers, 2 series, 5 s")
    args = parser.parse_args(argv)
    if args.smoke:
        args.subscribers, args.series, args.seconds, args.rate = 20, 2, 5.0, 2.0
    sys.exit(asyncio.run(_run(args)))


if __name__ == "__main__":
    main()
