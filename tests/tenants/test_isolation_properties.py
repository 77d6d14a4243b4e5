"""Property: whatever tenants A and B store, nothing of A reaches B (docs/security.md).

Random series (keys drawn from a small pool, so A and B often use the same key) with random
samples, and random sites over them, for A and B; then random reads by B: single series,
pages of seriesList with random filters followed through their cursors, single sites and the
site list. A's values are >= 1000, B's < 1000, so any A value in B's answers is visible; B must
see exactly its own keys, counts and cursors, as if A did not exist.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.tenants.conftest import Caller

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

EXAMPLES = 200 if os.environ.get("FULL_TESTS") == "1" else 12
KEYS = ["m:1", "m:2", "n:1", "n:2", "site-1:pv"]
TIMES = ["2024-10-27T00:00:00+02:00", "2024-10-27T02:30:00+02:00", "2024-10-27T02:30:00+01:00"]


@dataclass(frozen=True)
class Stored:
    key: str
    values: tuple[float, ...]


def _tenant_series(low: float, high: float) -> st.SearchStrategy[dict[str, Stored]]:
    values = st.lists(
        st.floats(low, high, allow_nan=False).map(lambda v: round(v, 3)),
        min_size=0,
        max_size=len(TIMES),
    )
    return st.dictionaries(st.sampled_from(KEYS), values.map(tuple), max_size=len(KEYS)).map(
        lambda d: {k: Stored(k, v) for k, v in d.items()}
    )


@st.composite
def _read(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["series", "list", "site", "sites"]))
    return {
        "kind": kind,
        "key": draw(st.sampled_from([*KEYS, "x:none"])),
        "prefix": draw(st.sampled_from([None, "m:", "n:", "site", "zz"])),
        "first": draw(st.integers(1, 3)),
        "site": draw(st.sampled_from(["s1", "s2", "s3"])),
    }


UPSERT = "mutation($i: SeriesInput!) { upsertSeries(input: $i) { key } }"
INGEST = """mutation($k: String!, $t: [DateTime!]!, $v: [Float!]!) {
  ingest(input: {series: [{key: $k, timestamps: $t, values: $v}]}) { userErrors { code } }
}"""
SITE = """mutation($k: String!, $load: String!) {
  upsertSite(input: {key: $k, load: $load, tariff: {kind: FIXED, importPriceCt: 30}})
  { userErrors { code } }
}"""
SERIES = """query($k: String!) { series(key: $k) { key name firstTimestamp lastTimestamp
  samples(from: "2024-10-26T00:00:00Z", to: "2024-10-28T00:00:00Z", limit: 10) { timestamps values }
  forecasts { key } } }"""
LIST = """query($p: String, $n: Int!, $a: String) {
  seriesList(filter: {keyPrefix: $p}, first: $n, after: $a) {
    edges { cursor node { key
      samples(from: "2024-10-26T00:00:00Z", to: "2024-10-28T00:00:00Z", limit: 10)
      { values } } } pageInfo { hasNextPage endCursor } } }"""
SITE_READ = "query($k: String!) { site(key: $k) { key load } }"
SITES = "{ sites { key load } }"


async def _store(call: Caller, series: dict[str, Stored], sites: dict[str, str]) -> None:
    for s in series.values():
        body = await call(UPSERT, {"i": {"key": s.key, "kind": "POWER", "unit": "kW",
                                         "labels": {"forecast_of": "m:1"}}})  # fmt: skip
        assert "errors" not in body, body
        if s.values:
            body = await call(INGEST, {"k": s.key, "t": TIMES[: len(s.values)], "v": s.values})
            assert body["data"]["ingest"]["userErrors"] == [], body
    for key, load in sites.items():
        body = await call(SITE, {"k": key, "load": load})
        assert body["data"]["upsertSite"]["userErrors"] == [], body


def _sites(series: dict[str, Stored]) -> st.SearchStrategy[dict[str, str]]:
    if not series:
        return st.just({})
    return st.dictionaries(st.sampled_from(["s1", "s2", "s3"]), st.sampled_from(list(series)))


@st.composite
def _world(draw: st.DrawFn) -> tuple[Any, ...]:
    a = draw(_tenant_series(1000, 1e6))
    b = draw(_tenant_series(-999, 999))
    return a, draw(_sites(a)), b, draw(_sites(b)), draw(st.lists(_read(), min_size=1, max_size=6))


def _a_values_in(text: str, a: dict[str, Stored]) -> list[float]:
    return [v for s in a.values() for v in s.values if json.dumps(v) in text]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("FULL_TESTS") != "1",
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=_world())
async def test_nothing_of_a_reaches_b(
    world: tuple[Any, ...], acme: Caller, beta: Caller, admin_sql: asyncpg.Pool
) -> None:
    a_series, a_sites, b_series, b_sites, reads = world
    await admin_sql.execute("TRUNCATE samples, series, sites RESTART IDENTITY")
    await _store(acme, a_series, a_sites)
    await _store(beta, b_series, b_sites)
    for read in reads:
        if read["kind"] == "series":
            body = await beta(SERIES, {"k": read["key"]})
            got = body["data"]["series"]
            mine = b_series.get(read["key"])
            assert (got is None) == (mine is None), body
            if got is not None and mine is not None:
                assert tuple(got["samples"]["values"]) == mine.values
                assert {f["key"] for f in got["forecasts"]} <= set(b_series)
        elif read["kind"] == "list":
            keys, after = [], None
            while True:
                body = await beta(LIST, {"p": read["prefix"], "n": read["first"], "a": after})
                page = body["data"]["seriesList"]
                for edge in page["edges"]:
                    keys.append(edge["node"]["key"])
                    decoded = base64.urlsafe_b64decode(edge["cursor"]).decode()
                    assert decoded == "k:" + edge["node"]["key"]
                    assert (
                        tuple(edge["node"]["samples"]["values"])
                        == b_series[edge["node"]["key"]].values
                    )
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
            prefix = read["prefix"] or ""
            assert keys == sorted(k for k in b_series if k.startswith(prefix)), body
        elif read["kind"] == "site":
            body = await beta(SITE_READ, {"k": read["site"]})
            got = body["data"]["site"]
            assert (got is None) == (read["site"] not in b_sites), body
            if got is not None:
                assert got["load"] == b_sites[read["site"]]
        else:
            body = await beta(SITES)
            assert [s["key"] for s in body["data"]["sites"]] == sorted(b_sites), body
        assert "errors" not in body, body
        text = json.dumps(body)
        assert not _a_values_in(text, a_series), (read, body)
        only_a = set(a_series) - set(b_series)
        assert not [k for k in only_a if f'"{k}"' in text], (read, body)
