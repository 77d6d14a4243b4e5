from __future__ import annotations

from tests.conftest import Gql
from tests.resolvers.helpers import INGEST, UPSERT, ingest_input, quarter_hours, series_input


async def test_ingest_then_aggregate_a_dst_day(gql: Gql) -> None:
    body = await gql(UPSERT, {"input": series_input("pv", timezone="Europe/Berlin")})
    assert body.get("errors") is None, body
    ts = quarter_hours("2025-10-25T00:00:00+02:00", "2025-10-28T00:00:00+01:00")
    body = await gql(INGEST, {"input": ingest_input("pv", ts, [1.0] * len(ts))})
    assert body["data"]["ingest"]["inserted"] == len(ts), body
    body = await gql(
        """{ series(key: "pv") { firstTimestamp lastTimestamp
             aggregate(from: "2025-10-25T00:00:00+02:00", to: "2025-10-28T00:00:00+01:00",
                       every: "P1D") { starts ends count sum } } }"""
    )
    assert body.get("errors") is None, body
    agg = body["data"]["series"]["aggregate"]
    assert agg["count"] == [96, 100, 96]
    assert agg["starts"][1] == "2025-10-25T22:00:00+00:00"
    assert agg["ends"][1] == "2025-10-26T23:00:00+00:00"
