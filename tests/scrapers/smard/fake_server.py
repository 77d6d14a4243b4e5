"""A fake smard.de chart_data server on 127.0.0.1, following docs/smard.md.

Paths, JSON shapes and status codes match the real API: `/app/chart_data/{filter}/{region}/
index_{resolution}.json` and `.../{filter}_{region}_{resolution}_{ts}.json`; 404 with an HTML
body for unknown filter/region/resolution/timestamp and for copy mismatches. Tests switch
revisions and the publication horizon at runtime and queue faults (429, 503, slow, truncated,
HTML with 200) for paths that contain a given string. An optional rate limit (a token bucket)
answers 429 with Retry-After once requests come faster than it allows.

Run it by hand: `python -m tests.scrapers.smard.fake_server --port 8090 [--rate-limit 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.scrapers.smard.fixtures import (
    FIRST_WEEK,
    PUBLISHED_UNTIL,
    STEP_MS,
    base_value,
    monday_starts,
    week_points,
)

DEFAULT_SERIES = frozenset(
    {(4169, "DE-LU", "hour"), (4169, "DE-LU", "quarterhour"), (410, "DE", "hour")}
    | {
        (f, "DE", "hour")
        for f in (1223, 4069, 4071, 1224, 4067, 1225, 4068, 4066, 1226, 4070, 1228, 1227)
    }
)
_NOT_FOUND = "<html><head><title>404 Not Found</title></head><body>Not Found</body></html>"


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour, consumed by the next matching request."""

    status: int = 200
    retry_after: str | None = None
    delay_s: float = 0.0
    body: str | None = None  # replaces the real body; content type becomes text/html
    truncate: bool = False

    @classmethod
    def http(cls, status: int, retry_after: str | None = None) -> Fault:
        return cls(status=status, retry_after=retry_after, body=f"<html>{status}</html>")

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        return cls(delay_s=seconds)

    @classmethod
    def truncated(cls) -> Fault:
        return cls(truncate=True)

    @classmethod
    def html(cls) -> Fault:
        return cls(body="<!doctype html><html><body>Please enable JavaScript</body></html>")


@dataclass(frozen=True)
class Hit:
    path: str
    status: int
    user_agent: str
    at: float = 0.0  # arrival, time.monotonic()
    retry_after: float | None = None  # seconds, as sent with a 429


@dataclass
class TokenBucket:
    """`per_second` tokens refill continuously up to `burst`; each request takes one."""

    per_second: float
    burst: float
    tokens: float = field(init=False)
    updated: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def take(self, now: float) -> float:
        """0.0 if the request may pass, else the seconds until a token is back."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.per_second


@dataclass
class FakeSmard:
    """The mutable state behind the fake; safe to change from the test thread."""

    series: set[tuple[int, str, str]] = field(default_factory=lambda: set(DEFAULT_SERIES))
    published_until: int = PUBLISHED_UNTIL
    revisions: list[tuple[int, float]] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    # Set when any request arrives (hits are recorded only once the answer is ready).
    arrived: threading.Event = field(default_factory=threading.Event)
    limit: TokenBucket | None = None
    _faults: list[tuple[str, deque[Fault]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- test controls -------------------------------------------------------------
    def reset(self) -> None:
        """Back to the default data set, with no revisions, faults or recorded hits."""
        fresh = FakeSmard()
        with self._lock:
            self.series, self.published_until = fresh.series, fresh.published_until
            self.revisions.clear()
            self.hits.clear()
            self._faults.clear()
            self.arrived.clear()
            self.limit = None

    def rate_limit(self, per_second: float, burst: float | None = None) -> None:
        """From now on, answer 429 + Retry-After beyond `per_second` requests (burst: the
        bucket's size, default one second's worth)."""
        with self._lock:
            self.limit = TokenBucket(per_second, burst or per_second)

    def inject(self, match: str, *faults: Fault) -> None:
        """Queue faults for requests whose path contains `match`, in order."""
        with self._lock:
            self._faults.append((match, deque(faults)))

    def revise(self, from_ms: int, delta: float) -> None:
        """From now on, values at or after from_ms are published `delta` higher."""
        with self._lock:
            self.revisions.append((from_ms, delta))

    def publish_until(self, until_ms: int) -> None:
        with self._lock:
            self.published_until = until_ms

    def paths(self, contains: str = "") -> list[str]:
        with self._lock:
            return [h.path for h in self.hits if contains in h.path]

    # -- data ------------------------------------------------------------------------
    def index(self) -> list[int]:
        return monday_starts(FIRST_WEEK, self.published_until)

    def value(self, filter_id: int, region: str, resolution: str, ts: int) -> float | None:
        """The published value, or None where SMARD would send null."""
        if ts >= self.published_until:
            return None
        bump = sum(delta for start, delta in self.revisions if ts >= start)
        return round(base_value(filter_id, region, resolution, ts) + bump, 3)

    def chunk(self, filter_id: int, region: str, resolution: str, start: int) -> dict[str, object]:
        points = week_points(start, resolution)
        return {
            "meta_data": {"version": 1, "created": self.published_until + len(self.revisions)},
            "series": [[ts, self.value(filter_id, region, resolution, ts)] for ts in points],
        }

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for match, queue in self._faults:
                if match in path and queue:
                    return queue.popleft()
        return None

    def _record(
        self, path: str, status: int, request: Request, at: float, retry_after: float | None = None
    ) -> None:
        with self._lock:
            agent = request.headers.get("user-agent", "")
            self.hits.append(Hit(path, status, agent, at, retry_after))

    def _throttle(self, now: float) -> int | None:
        """Retry-After in whole seconds (as HTTP sends it) when the bucket is empty."""
        with self._lock:
            wait = self.limit.take(now) if self.limit is not None else 0.0
        return max(1, math.ceil(wait)) if wait else None

    def resolve(self, filter_id: str, region: str, name: str) -> dict[str, object] | None:
        """The JSON document for a path, or None for 404 (exactly the real API's rules)."""
        if not filter_id.isdigit() or not name.endswith(".json"):
            return None
        fid = int(filter_id)
        stem = name.removesuffix(".json")
        if stem.startswith("index_"):
            resolution = stem.removeprefix("index_")
            if (fid, region, resolution) not in self.series:
                return None
            return {"timestamps": self.index()}
        parts = stem.split("_")
        if len(parts) != 4 or parts[0] != filter_id or parts[1] != region:
            return None  # "Kaputtes API-Design": the copies must match the directories
        resolution, ts = parts[2], parts[3]
        if (fid, region, resolution) not in self.series or resolution not in STEP_MS:
            return None
        if not ts.isdigit() or int(ts) not in self.index():
            return None  # stale or invented timestamps are 404 too
        return self.chunk(fid, region, resolution, int(ts))

    # -- ASGI ------------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        params = request.path_params
        path = request.url.path
        at = time.monotonic()
        self.arrived.set()
        if (retry_after := self._throttle(at)) is not None:
            self._record(path, 429, request, at, retry_after)
            headers = {"Retry-After": str(retry_after)}
            return Response("<html>429</html>", 429, headers, media_type="text/html")
        fault = self._take_fault(path)
        if fault is not None and fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault is not None and fault.body is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            self._record(path, fault.status, request, at)
            return Response(fault.body, fault.status, headers, media_type="text/html")
        doc = self.resolve(params["filter"], params["region"], params["name"])
        if doc is None:
            self._record(path, 404, request, at)
            return Response(_NOT_FOUND, 404, media_type="text/html")
        body = json.dumps(doc, separators=(",", ":"))
        if fault is not None and fault.truncate:
            body = body[: len(body) // 2]
        self._record(path, 200, request, at)
        return Response(body, 200, media_type="application/json")

    def app(self) -> Starlette:
        route = Route("/app/chart_data/{filter}/{region}/{name}", self.handle, methods=["GET"])
        return Starlette(routes=[route])


class FakeSmardServer:
    """Runs a FakeSmard with uvicorn in a background thread on a free 127.0.0.1 port."""

    def __init__(self, state: FakeSmard | None = None, port: int = 0) -> None:
        self.state = state or FakeSmard()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            self.state.app(),
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/app"

    def __enter__(self) -> Self:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("fake SMARD server did not start")
            self._thread.join(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(5)
        self._sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake smard.de chart_data server")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument(
        "--published-until",
        type=datetime.fromisoformat,
        help="newest published instant with offset (default 2025-11-05T14:00+01:00)",
    )
    parser.add_argument(
        "--rate-limit", type=float, help="requests per second before 429 + Retry-After"
    )
    args = parser.parse_args()
    state = FakeSmard()
    if args.published_until is not None:
        state.publish_until(int(args.published_until.timestamp() * 1000))
    if args.rate_limit is not None:
        state.rate_limit(args.rate_limit)
    print(f"fake SMARD at http://127.0.0.1:{args.port}/app", flush=True)
    uvicorn.run(state.app(), host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main()
