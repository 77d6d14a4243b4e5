"""An in-memory stand-in for the gateway's GraphQL API, served through httpx.MockTransport.

It implements exactly the two operations the scraper sends, with the contract's semantics
(upsert by key, all-or-nothing ingest with onConflict UPDATE and inserted/updated/unchanged
counts), so sync logic can be tested without PostgreSQL. The real gateway is used in the
end-to-end tests.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx


@dataclass
class MemoryGateway:
    series: dict[str, dict[str, Any]] = field(default_factory=dict)
    samples: dict[str, dict[datetime, float]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    # Scripted HTTP answers (status, headers) that pre-empt the next requests, in order.
    outages: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def values(self, key: str) -> dict[datetime, float]:
        return dict(sorted(self.samples.get(key, {}).items()))

    def _handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append({"body": body, "headers": dict(request.headers)})
        if self.outages:
            status, headers = self.outages.popleft()
            return httpx.Response(status, headers=headers, text="unavailable")
        query: str = body["query"]
        variables: dict[str, Any] = body["variables"]
        if "upsertSeries" in query:
            data = {"upsertSeries": self._upsert(variables["input"])}
        elif "ingest(" in query:
            data = {"ingest": self._ingest(variables["input"])}
        else:
            return httpx.Response(400, text=f"unexpected operation {query!r}")
        return httpx.Response(200, json={"data": data})

    def _upsert(self, item: dict[str, Any]) -> dict[str, Any]:
        self.series[item["key"]] = item
        stored = self.samples.setdefault(item["key"], {})
        return {"key": item["key"], "lastTimestamp": max(stored).isoformat() if stored else None}

    def _ingest(self, item: dict[str, Any]) -> dict[str, Any]:
        assert item["onConflict"] == "UPDATE"
        inserted = updated = unchanged = accepted = 0
        for entry in item["series"]:
            if entry["key"] not in self.series:
                error = {"code": "UNKNOWN_SERIES", "message": "no such series"}
                return {"accepted": 0, "inserted": 0, "updated": 0, "unchanged": 0,
                        "userErrors": [{**error, "key": entry["key"], "index": None}]}  # fmt: skip
            stored = self.samples[entry["key"]]
            for text, value in zip(entry["timestamps"], entry["values"], strict=True):
                ts = datetime.fromisoformat(text)
                assert ts.utcoffset() is not None, "naive timestamp sent"
                accepted += 1
                if ts not in stored:
                    inserted += 1
                elif stored[ts] != value:
                    updated += 1
                else:
                    unchanged += 1
                stored[ts] = value
        return {"accepted": accepted, "inserted": inserted, "updated": updated,
                "unchanged": unchanged, "userErrors": []}  # fmt: skip
