"""The sidecars' only way into the gateway: its public GraphQL API over HTTP.

Connection errors, 429 and 5xx are retried with jittered backoff (stamina); any other
status, GraphQL errors or userErrors are the request's own fault and raised at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import stamina

from sidecar.settings import GatewaySettings

__all__ = ["GatewayClient", "GatewayRejected", "GatewayUnavailable", "parse_time", "rfc3339"]

USER_AGENT = "energy-gateway-sidecar/0.1"

UPSERT_SERIES = """mutation SidecarUpsertSeries($input: SeriesInput!) {
  upsertSeries(input: $input) { key } }"""
INGEST = """mutation SidecarIngest($input: IngestInput!) {
  ingest(input: $input) { accepted userErrors { code message key index } } }"""
SAMPLES = """query SidecarSamples($key: String!, $from: DateTime!, $to: DateTime!, $limit: Int) {
  series(key: $key) { samples(from: $from, to: $to, limit: $limit) {
    timestamps values truncated } } }"""


class GatewayUnavailable(Exception):
    """Try again later (connection error, 429, 5xx)."""


class GatewayRejected(Exception):
    """The gateway refused the request; sending it again would not help."""


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class GatewayClient:
    def __init__(self, http: httpx.AsyncClient, settings: GatewaySettings) -> None:
        self._http = http
        self._settings = settings
        self._headers = {"User-Agent": USER_AGENT}
        if settings.token is not None:
            self._headers["Authorization"] = f"Bearer {settings.token.get_secret_value()}"
        if settings.tenant is not None:
            self._headers["X-Tenant"] = settings.tenant

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        s = self._settings
        async for attempt in stamina.retry_context(
            on=(GatewayUnavailable, httpx.TransportError),
            attempts=s.retry_attempts,
            timeout=s.retry_timeout_seconds,
        ):
            with attempt:
                return await self._post(query, variables or {})
        raise AssertionError("stamina either returns or re-raises")  # pragma: no cover

    async def _post(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await self._http.post(
            self._settings.url,
            json={"query": query, "variables": variables},
            headers=self._headers,
            timeout=self._settings.timeout_seconds,
        )
        if response.status_code == 429 or response.status_code >= 500:
            raise GatewayUnavailable(f"gateway returned {response.status_code}")
        if response.status_code != 200:
            raise GatewayRejected(f"gateway returned {response.status_code}: {response.text[:200]}")
        payload = response.json()
        if payload.get("errors"):
            messages = "; ".join(str(e.get("message", e)) for e in payload["errors"][:3])
            raise GatewayRejected(f"gateway GraphQL errors: {messages}")
        data: dict[str, Any] = payload["data"]
        return data

    async def upsert_series(self, series: dict[str, Any]) -> None:
        await self.execute(UPSERT_SERIES, {"input": series})

    async def upsert_many(self, many: Sequence[dict[str, Any]]) -> None:
        """Several upsertSeries in one request (aliased root fields, run in order)."""
        if not many:
            return
        params = ", ".join(f"$s{i}: SeriesInput!" for i in range(len(many)))
        fields = " ".join(f"s{i}: upsertSeries(input: $s{i}) {{ key }}" for i in range(len(many)))
        await self.execute(
            f"mutation SidecarUpsertMany({params}) {{ {fields} }}",
            {f"s{i}": series for i, series in enumerate(many)},
        )

    async def ingest_many(
        self,
        items: Sequence[tuple[str, npt.NDArray[np.int64], npt.NDArray[np.float64]]],
        *,
        on_conflict: str = "UPDATE",
    ) -> int:
        """Samples of several series in one all-or-nothing call (falls back to one call per
        series when together they exceed `max_points_per_request`)."""
        total = sum(len(stamps) for _, stamps, _ in items)
        if total > self._settings.max_points_per_request:
            written = 0
            for key, stamps, values in items:
                written += await self.ingest(key, stamps, values, on_conflict=on_conflict)
            return written
        series = [
            {"key": key, "timestampsMs": stamps.tolist(), "valuesColumn": values.tolist()}
            for key, stamps, values in items
            if len(stamps)
        ]
        if not series:
            return 0
        result = (
            await self.execute(INGEST, {"input": {"series": series, "onConflict": on_conflict}})
        )["ingest"]
        if result["userErrors"]:
            shown = "; ".join(f"{e['code']}: {e['message']}" for e in result["userErrors"][:3])
            raise GatewayRejected(f"gateway rejected samples: {shown}")
        return int(result["accepted"])

    async def ingest(
        self,
        key: str,
        timestamps_ms: npt.NDArray[np.int64] | Sequence[int],
        values: npt.NDArray[np.float64] | Sequence[float],
        *,
        on_conflict: str = "UPDATE",
    ) -> int:
        """Write samples in calls of at most `max_points_per_request` points; `on_conflict`
        UPDATE overwrites, IGNORE keeps what is stored."""
        stamps = np.asarray(timestamps_ms, dtype=np.int64)
        numbers = np.asarray(values, dtype=np.float64)
        step = self._settings.max_points_per_request
        written = 0
        for start in range(0, len(stamps), step):
            item = {
                "key": key,
                "timestampsMs": stamps[start : start + step].tolist(),
                "valuesColumn": numbers[start : start + step].tolist(),
            }
            result = (
                await self.execute(INGEST, {"input": {"series": [item], "onConflict": on_conflict}})
            )["ingest"]
            if result["userErrors"]:
                shown = "; ".join(f"{e['code']}: {e['message']}" for e in result["userErrors"][:3])
                raise GatewayRejected(f"gateway rejected samples of {key}: {shown}")
            written += int(result["accepted"])
        return written

    async def samples(
        self, key: str, start: datetime, end: datetime, *, page: int = 50_000
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Raw samples of a series in [start, end) as epoch-ms and values, paged."""
        stamps: list[int] = []
        values: list[float] = []
        cursor = start
        while True:
            data = await self.execute(
                SAMPLES, {"key": key, "from": rfc3339(cursor), "to": rfc3339(end), "limit": page}
            )
            series = data["series"]
            if series is None:
                raise GatewayRejected(f"no series {key!r}")
            got = series["samples"]
            times = [parse_time(t) for t in got["timestamps"]]
            stamps.extend(int(t.timestamp() * 1000) for t in times)
            values.extend(float(v) for v in got["values"])
            if not got["truncated"] or not times:
                break
            cursor = datetime.fromtimestamp(stamps[-1] / 1000 + 0.001, UTC)
        return np.array(stamps, dtype=np.int64), np.array(values, dtype=np.float64)
