"""SmardClient: fetches index and chunk documents from the SMARD chart_data tree.

It holds an injected httpx.AsyncClient (tests pass one aimed at a fake server) and applies
the politeness rules itself: bounded concurrency, one shared adaptive rate limiter (limiter.py),
an identifying User-Agent, explicit timeouts, a body size cap and a JSON content check.

Retries: a 429 is waited out inside the call (the limiter holds every request until its
Retry-After and lowers the rate) and costs time from the call's budget (`retry.timeout_seconds`),
not an attempt; other transient failures (5xx, timeouts, connection errors, bodies that are not
JSON) cost an attempt and wait stamina's backoff.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import httpx

from scrapers.smard.catalog import RESOLUTIONS
from scrapers.smard.errors import (
    SmardBadResponse,
    SmardDataError,
    SmardError,
    SmardMisconfigured,
    SmardUnavailable,
)
from scrapers.smard.limiter import AdaptiveRateLimiter
from scrapers.smard.parse import Chunk, decode_json, parse_chunk, parse_index
from scrapers.smard.plan import ChunkRef
from scrapers.smard.retry import parse_retry_after, retrying
from scrapers.smard.settings import HttpSettings, RetrySettings


def is_transient(exc: Exception) -> bool:
    """Retry transient failures; a 404 or a contract violation will not heal by itself. A 429
    that reaches stamina has used up the call's time budget inside `_paced_get`."""
    if isinstance(exc, SmardUnavailable):
        return exc.status != 429
    return isinstance(exc, httpx.TransportError | SmardBadResponse)


class SmardClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        settings: HttpSettings,
        retry: RetrySettings,
        limiter: AdaptiveRateLimiter | None = None,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._settings = settings
        self._retry = retry
        self.limiter = limiter or AdaptiveRateLimiter(
            settings, retry_after_max_seconds=retry.retry_after_max_seconds
        )
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._timeout = httpx.Timeout(
            settings.timeout_seconds, connect=settings.connect_timeout_seconds
        )
        self.requests = 0

    def index_url(self, filter_id: int, region: str, resolution: str) -> str:
        return f"{self._base}/chart_data/{filter_id}/{region}/index_{resolution}.json"

    def chunk_url(self, filter_id: int, region: str, resolution: str, start: int) -> str:
        # SMARD repeats filter and region in the file name; both copies must match.
        name = f"{filter_id}_{region}_{resolution}_{start}.json"
        return f"{self._base}/chart_data/{filter_id}/{region}/{name}"

    async def index(self, filter_id: int, region: str, resolution: str) -> list[int]:
        doc = await self._get_json(self.index_url(filter_id, region, resolution))
        return parse_index(doc)

    async def chunk(self, filter_id: int, region: str, resolution: str, ref: ChunkRef) -> Chunk:
        url = self.chunk_url(filter_id, region, resolution, ref.start)
        doc = await self._get_json(url)
        step = RESOLUTIONS[resolution].fixed_step_ms
        try:
            return parse_chunk(doc, start=ref.start, end=ref.end, step_ms=step)
        except SmardDataError as exc:
            raise SmardDataError(f"{url}: {exc}") from exc

    async def _get_json(self, url: str) -> Any:
        budget = self._retry.timeout_seconds
        deadline = math.inf if budget is None else self.limiter.clock() + budget
        async for attempt in retrying(self._retry, is_transient):
            with attempt:
                return decode_json(await self._paced_get(url, deadline))
        raise AssertionError("stamina either returns or re-raises")  # pragma: no cover

    async def _paced_get(self, url: str, deadline: float) -> bytes:
        """One attempt: GET through the shared limiter, waiting out 429s until `deadline`."""
        while True:
            async with self._slots:
                round_sent = await self.limiter.acquire()
                self.requests += 1
                try:
                    body = await self._download(url)
                except SmardUnavailable as exc:
                    if exc.status != 429:
                        self.limiter.hold(exc.retry_after)
                        raise
                    if self.limiter.throttled_by(round_sent, exc.retry_after) > deadline:
                        raise
                    continue
            self.limiter.succeeded()
            return body

    async def _download(self, url: str) -> bytes:
        headers = {"User-Agent": self._settings.user_agent, "Accept": "application/json"}
        cap = self._settings.max_response_bytes
        async with self._http.stream("GET", url, headers=headers, timeout=self._timeout) as resp:
            status = resp.status_code
            if status == 404:
                raise SmardMisconfigured(url)
            if status == 429 or status >= 500:
                retry_after = parse_retry_after(resp.headers.get("retry-after"))
                raise SmardUnavailable(url, status, retry_after)
            if status != 200:
                raise SmardError(f"SMARD returned unexpected HTTP {status} for {url}")
            content_type = resp.headers.get("content-type", "")
            if "json" not in content_type.lower():
                raise SmardBadResponse(f"{url} answered {content_type or 'no type'}, not JSON")
            declared = resp.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                raise SmardDataError(f"{url} is {declared} bytes, above the {cap} byte cap")
            body = bytearray()
            async for part in resp.aiter_bytes():
                body += part
                if len(body) > cap:
                    raise SmardDataError(f"{url} is larger than the {cap} byte cap")
            return bytes(body)
