"""SmardClient: fetches index and chunk documents from the SMARD chart_data tree.

It holds an injected httpx.AsyncClient (tests pass one aimed at a fake server) and applies
the politeness rules itself: bounded concurrency, a short pause after each request, an
identifying User-Agent, explicit timeouts, a body size cap and a JSON content check.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import stamina

from scrapers.smard.catalog import RESOLUTIONS
from scrapers.smard.errors import (
    SmardBadResponse,
    SmardDataError,
    SmardError,
    SmardMisconfigured,
    SmardUnavailable,
)
from scrapers.smard.parse import Chunk, decode_json, parse_chunk, parse_index
from scrapers.smard.plan import ChunkRef
from scrapers.smard.retry import FullJitterBackoff, parse_retry_after
from scrapers.smard.settings import HttpSettings, RetrySettings


def classify_smard_error(exc: Exception) -> float | None:
    """Retry transient failures; a 404 or a contract violation will not heal by itself."""
    if isinstance(exc, SmardUnavailable):
        return exc.retry_after or 0.0
    if isinstance(exc, httpx.TransportError | SmardBadResponse):
        return 0.0
    return None


class SmardClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        settings: HttpSettings,
        retry: RetrySettings,
        rng: random.Random | None = None,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._settings = settings
        self._retry = retry
        self._rng = rng or random.Random()
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
        backoff = FullJitterBackoff(self._retry, classify_smard_error, self._rng)
        async for attempt in stamina.retry_context(
            on=backoff,
            attempts=self._retry.attempts,
            timeout=self._retry.timeout_seconds,
            wait_initial=self._retry.wait_initial_seconds,
            wait_max=self._retry.wait_max_seconds,
        ):
            with attempt:
                return await self._get_once(url)
        raise AssertionError("stamina either returns or re-raises")  # pragma: no cover

    async def _get_once(self, url: str) -> Any:
        async with self._slots:
            self.requests += 1
            try:
                body = await self._download(url)
            finally:
                if self._settings.pause_seconds:
                    await asyncio.sleep(self._settings.pause_seconds)
        return decode_json(body)

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
