"""Property-based ingest test (docs/testing.md).

Random batches with duplicate instants (also across offsets), non-finite and huge numbers sent
as raw JSON tokens, naive, malformed and offset timestamps over years 1-9999 with offsets up to
±14 h, length mismatches, unknown series and unknown input fields, in both column forms
(`timestamps`/`values` and the bulk `timestampsMs`/`valuesColumn`). For every batch:

- the server never answers 5xx and never leaks internals;
- all rows are written or none; the accepted count equals the rows in the database, and the
  stored rows are exactly the batch's rows (as UTC instants);
- a batch the test knows to be valid is accepted, one it knows to be invalid writes nothing;
- an accepted batch sent again changes nothing (same table checksum, 0 inserted/updated), and
  the same rows shuffled into a fresh table give the same checksum.

Examples: 150 by default (derandomized: the same ones on every run), 1,000 with FULL_TESTS=1
(random).
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from tests.conftest import Gql
from tests.properties.batches import KNOWN_KEYS, Batch, Verdict, batches, shuffled

pytestmark = pytest.mark.slow

FULL = os.environ.get("FULL_TESTS") == "1"
EXAMPLES = 1000 if FULL else 150

INGEST = """mutation Ingest($input: IngestInput!) {
  ingest(input: $input) { accepted inserted updated unchanged userErrors { code key index } }
}"""
UPSERT = """mutation($input: SeriesInput!) { upsertSeries(input: $input) { key } }"""
LEAKS = ("Traceback", 'File "/', "asyncpg", "sqlalchemy", "SELECT ")

CHECKSUM = """
SELECT md5(coalesce(string_agg(s.key || '/' || x.ts || '/' || x.value, ',' ORDER BY s.key, x.ts),
                    ''))
FROM samples x JOIN series s ON s.id = x.series_id
"""


@pytest.fixture
async def prop_series(gql: Gql) -> None:
    for key in KNOWN_KEYS:
        body = await gql(UPSERT, {"input": {"key": key, "kind": "POWER", "unit": "MW"}})
        assert "errors" not in body, body


@pytest.fixture
async def outcomes() -> AsyncIterator[Counter[str]]:
    """Counts what the examples ran into; afterwards both paths must have been exercised."""
    seen: Counter[str] = Counter()
    yield seen
    print(f"\ningest property outcomes: {dict(seen)}")
    assert seen["accepted"] > 0 and seen["rejected"] > 0, seen


async def send(client: httpx.AsyncClient, batch: Batch) -> tuple[bool, dict[str, Any], str]:
    """POST the batch; (accepted, ingest result or {}, outcome label)."""
    response = await client.post(
        "/graphql", content=batch.body(INGEST), headers={"content-type": "application/json"}
    )
    assert response.status_code < 500, (response.status_code, response.text)
    for leak in LEAKS:
        assert leak not in response.text, response.text
    if response.status_code != 200:
        return False, {}, f"http {response.status_code}"
    body = orjson.loads(response.content)
    result = (body.get("data") or {}).get("ingest")
    if result is None:
        assert body.get("errors"), body
        # Bad input is the client's error: a readable message, never a masked internal one.
        codes = {(e.get("extensions") or {}).get("code") for e in body["errors"]}
        assert "INTERNAL_ERROR" not in codes, body
        return False, body, "graphql error"
    if result["userErrors"]:
        assert result["accepted"] == 0, result
        return False, result, "user error " + result["userErrors"][0]["code"]
    assert result["accepted"] == batch.points, result
    return True, result, "accepted"


async def stored(pool: asyncpg.Pool) -> set[tuple[str, datetime, float]]:
    rows = await pool.fetch(
        "SELECT s.key, x.ts, x.value FROM samples x JOIN series s ON s.id = x.series_id"
    )
    return {(r["key"], r["ts"], r["value"]) for r in rows}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not FULL,  # the same batches on every CI run; fresh ones at full size
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(batch=batches(), rng=st.randoms(use_true_random=False))
async def test_ingest_is_all_or_nothing_and_idempotent(
    batch: Batch,
    rng: random.Random,
    client: httpx.AsyncClient,
    admin_sql: asyncpg.Pool,
    prop_series: None,
    outcomes: Counter[str],
) -> None:
    await admin_sql.execute("TRUNCATE samples")
    verdict = batch.verdict()
    accepted, result, label = await send(client, batch)
    event(label)
    event("faults: " + (", ".join(sorted(batch.faults)) or "none"))
    for entry in batch.entries:
        forms = ("timestampsMs" if entry.bulk_timestamps else "timestamps") + " + "
        event("form: " + forms + ("valuesColumn" if entry.bulk_values else "values"))
    outcomes["examples"] += 1
    outcomes["accepted" if accepted else "rejected"] += 1
    if not accepted:
        outcomes[label] += 1

    rows = await stored(admin_sql)
    if not accepted:
        assert rows == set(), f"rejected ({label}) but {len(rows)} rows were written"
        assert verdict is not Verdict.VALID, (
            f"a valid batch was rejected: {label} {result}\n{batch.body(INGEST).decode()}"
        )
        return
    assert verdict is not Verdict.INVALID, f"an invalid batch was accepted: {result}"
    assert len(rows) == result["accepted"] == result["inserted"]
    assert rows == batch.rows()

    before = await admin_sql.fetchval(CHECKSUM)
    again_accepted, again, _ = await send(client, batch)
    assert again_accepted
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, batch.points)
    assert await admin_sql.fetchval(CHECKSUM) == before

    await admin_sql.execute("TRUNCATE samples")
    shuffled_accepted, _, _ = await send(client, shuffled(batch, rng))
    assert shuffled_accepted
    assert await admin_sql.fetchval(CHECKSUM) == before
