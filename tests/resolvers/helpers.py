"""Small builders shared by the resolver tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

UPSERT = """mutation($input: SeriesInput!) {
  upsertSeries(input: $input) { key name kind unit timezone resolution labels source }
}"""
INGEST = """mutation($input: IngestInput!) {
  ingest(input: $input) {
    accepted inserted updated unchanged userErrors { code message key index }
  }
}"""


def series_input(key: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "kind": "POWER", "unit": "W", **extra}


def quarter_hours(start: str, end: str) -> list[str]:
    t = datetime.fromisoformat(start).astimezone(UTC)
    stop = datetime.fromisoformat(end).astimezone(UTC)
    out = []
    while t < stop:
        out.append(t.isoformat())
        t += timedelta(minutes=15)
    return out


def ingest_input(key: str, timestamps: list[str], values: list[float], **extra: Any) -> Any:
    return {"series": [{"key": key, "timestamps": timestamps, "values": values}], **extra}
