"""How cached results travel through a shared store: JSON (never pickle, so a compromised
cache server cannot run code in the gateway), datetimes as microseconds since the epoch."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from db.aggregate import BucketRows
from db.kpi import KpiRow

__all__ = ["AGGREGATE", "CODECS", "KPI", "Codec"]

AGGREGATE = "aggregate"
KPI = "kpi"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)

Codec = tuple[Callable[[Any], Any], Callable[[Any], Any]]


def _us(t: datetime) -> int:
    return (t - _EPOCH) // _ONE_US


def _dt(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _encode_buckets(rows: BucketRows) -> dict[str, Any]:
    return {
        "s": [_us(t) for t in rows.starts],
        "e": [_us(t) for t in rows.ends],
        "c": rows.columns,
    }


def _decode_buckets(data: dict[str, Any]) -> BucketRows:
    return BucketRows(
        starts=[_dt(us) for us in data["s"]], ends=[_dt(us) for us in data["e"]], columns=data["c"]
    )


_KPI_TIMES = ("start", "end")


def _encode_kpis(rows: list[KpiRow]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        item = dataclasses.asdict(row)
        for name in _KPI_TIMES:
            item[name] = None if item[name] is None else _us(item[name])
        out.append(item)
    return out


def _decode_kpis(data: list[dict[str, Any]]) -> list[KpiRow]:
    rows = []
    for item in data:
        for name in _KPI_TIMES:
            item[name] = None if item[name] is None else _dt(item[name])
        rows.append(KpiRow(**item))
    return rows


CODECS: dict[str, Codec] = {
    AGGREGATE: (_encode_buckets, _decode_buckets),
    KPI: (_encode_kpis, _decode_kpis),
}
