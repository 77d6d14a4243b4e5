"""GatewayClient: the scraper's only way into the gateway, its public GraphQL API over HTTP.

Every call is idempotent (upsertSeries, ingest with onConflict UPDATE), so a request
that may or may not have been applied is simply sent again. The gateway signals "come back
later" with connection errors, 429 and 5xx; 400/401/403/413/422 mean the request itself is
wrong and are never retried.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from scrapers.smard.catalog import FILTERS
from scrapers.smard.errors import GatewayUnavailable, PublishRejected
from scrapers.smard.parse import from_rfc3339, to_rfc3339
from scrapers.smard.retry import parse_retry_after, retrying
from scrapers.smard.settings import USER_AGENT, GatewaySettings, SeriesConfig

# lastTimestamp comes back with the upsert: one round trip, and an `ingest`-scoped key is
# enough (the `series` query needs the `read` scope).
UPSERT_SERIES = """
mutation UpsertSmardSeries($input: SeriesInput!) {
  upsertSeries(input: $input) { key lastTimestamp }
}
"""

INGEST = """
mutation IngestSmardChunks($input: IngestInput!) {
  ingest(input: $input) {
    accepted inserted updated unchanged
    userErrors { code message key index }
  }
}
"""


@dataclass(frozen=True, slots=True)
class IngestCounts:
    accepted: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: IngestCounts) -> IngestCounts:
        return IngestCounts(
            self.accepted + other.accepted,
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
        )


def gateway_backoff(retry_after_max_seconds: float) -> Callable[[Exception], bool | float]:
    """stamina's hook: the gateway's Retry-After (clamped) if it sent one, else stamina's
    exponential backoff; only unavailability is retried."""

    def hook(exc: Exception) -> bool | float:
        if isinstance(exc, GatewayUnavailable):
            if exc.retry_after:
                return min(exc.retry_after, retry_after_max_seconds)
            return True
        return isinstance(exc, httpx.TransportError)

    return hook


def series_input(series: SeriesConfig) -> dict[str, Any]:
    return {
        "key": series.series_key,
        "name": series.display_name,
        "kind": FILTERS[series.filter].kind.value,
        "unit": FILTERS[series.filter].unit,
        "timezone": "Europe/Berlin",
        "resolution": series.iso_resolution,
        "labels": {
            "filter": str(series.filter),
            "region": series.region,
            "resolution": series.resolution,
            "source": "smard",
        },
        "source": "smard",
    }


class GatewayClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        settings: GatewaySettings,
    ) -> None:
        self._http = http
        self._settings = settings
        self._backoff = gateway_backoff(settings.retry.retry_after_max_seconds)
        self._headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json"}
        if settings.token is not None:
            self._headers["Authorization"] = f"Bearer {settings.token.get_secret_value()}"
        self.requests = 0

    async def upsert_series(self, series: SeriesConfig) -> int | None:
        """Create or update the series; return its newest stored timestamp (epoch ms)."""
        data = await self._execute(UPSERT_SERIES, {"input": series_input(series)})
        last = data["upsertSeries"]["lastTimestamp"]
        return None if last is None else from_rfc3339(str(last))

    async def ingest(
        self, key: str, timestamps: Sequence[int], values: Sequence[float]
    ) -> IngestCounts:
        """Send whole chunks in one all-or-nothing mutation."""
        variables = {
            "input": {
                "series": [
                    {
                        "key": key,
                        "timestamps": [to_rfc3339(ts) for ts in timestamps],
                        "values": list(values),
                    }
                ],
                "onConflict": "UPDATE",
            }
        }
        result = (await self._execute(INGEST, variables))["ingest"]
        if result["userErrors"]:
            shown = "; ".join(f"{e['code']}: {e['message']}" for e in result["userErrors"][:3])
            raise PublishRejected(f"gateway rejected {key}: {shown}")
        return IngestCounts(
            result["accepted"], result["inserted"], result["updated"], result["unchanged"]
        )

    async def _execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        async for attempt in retrying(self._settings.retry, self._backoff):
            with attempt:
                return await self._post(query, variables)
        raise AssertionError("stamina either returns or re-raises")  # pragma: no cover

    async def _post(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        self.requests += 1
        resp = await self._http.post(
            self._settings.url,
            json={"query": query, "variables": variables},
            headers=self._headers,
            timeout=self._settings.timeout_seconds,
        )
        if resp.status_code == 429 or resp.status_code >= 500:
            raise GatewayUnavailable(
                f"gateway returned {resp.status_code}",
                parse_retry_after(resp.headers.get("retry-after")),
            )
        if resp.status_code != 200:
            raise PublishRejected(f"gateway returned {resp.status_code}: {resp.text[:200]}")
        try:
            payload = resp.json()
        except ValueError as exc:
            raise PublishRejected("gateway answered 200 with a body that is not JSON") from exc
        errors = payload.get("errors") if isinstance(payload, dict) else None
        if errors:
            messages = "; ".join(str(e.get("message", e)) for e in errors[:3])
            raise PublishRejected(f"gateway GraphQL errors: {messages}")
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict):
            raise PublishRejected("gateway response has no data")
        return data
