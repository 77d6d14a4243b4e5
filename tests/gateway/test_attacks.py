"""The attacks of issue 10 that need no sockets, each against the production-mode app:
fragment cycles and fan-outs answered at once with a clear error (the analysis is linear,
`/healthz` answers right after), the operation that executes being the one the HTTP checks
see, per-key cost, the in-app limit on /graphql requests, and error hygiene."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest

from gateway.cost import KeyCosts
from resolvers.errors import CostLimited
from tests.gateway.conftest import bearer, running_app, settings_for
from tests.gateway.test_observability import scrape

HANG_GUARD_S = 60  # not a performance assertion: a request that hangs fails instead of blocking


async def _post(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> httpx.Response:
    async with asyncio.timeout(HANG_GUARD_S):
        return await client.post("/graphql", json=body, headers=bearer(token))


def _code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def fan_out(levels: int, spreads: int, leaf: str = "__typename", on: str = "Query") -> str:
    """`levels` fragments, each spreading the next `spreads` times: spreads**levels paths."""
    fragments = " ".join(
        f"fragment F{i} on {on} {{ " + " ".join([f"...F{i + 1}"] * spreads) + " }"
        for i in range(levels)
    )
    return f"query {{ ...F0 }} {fragments} fragment F{levels} on {on} {{ {leaf} }}"


# ---------------------------------------------------------------- 1. fragments


@pytest.mark.parametrize(
    "document",
    [
        # The 90-byte query of the issue: 8 spreads of a fragment into itself.
        "query { ...A } fragment A on Query { ...A ...A ...A ...A ...A ...A ...A ...A __typename }",
        "query { ...A } fragment A on Query { ...B } fragment B on Query { ...C __typename } "
        "fragment C on Query { ...A ...B }",
        "query { seriesList { ...N } } fragment N on SeriesConnection { nodes { ...S } } "
        "fragment S on Series { key ... on Series { ...S } }",
    ],
    ids=["self-cycle", "mutual-cycle", "cycle-below-fields"],
)
async def test_fragment_cycles_are_refused_at_once(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str], document: str
) -> None:
    response = await _post(prod_client, api_keys["read"], {"query": document})
    assert response.status_code == 400, response.text
    assert _code(response) == "FRAGMENT_CYCLE"
    assert "within itself" in response.json()["errors"][0]["message"]
    health = await prod_client.get("/healthz")
    assert health.status_code == 200


async def test_fan_outs_are_counted_once_per_spread_and_refused_at_the_limit(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    token = api_keys["read"]
    # 2 spreads over 8 levels: 256 fields once expanded, under the limit of 500.
    ok = await _post(prod_client, token, {"query": fan_out(8, 2)})
    assert ok.status_code == 200 and ok.json() == {"data": {"__typename": "Query"}}, ok.text
    # 4 spreads over 11 levels (612 bytes, 4**11 fields expanded): took 9.4 s before.
    for document in (fan_out(11, 4), fan_out(120, 4), fan_out(11, 4, "a: __typename")):
        refused = await _post(prod_client, token, {"query": document})
        assert refused.status_code == 400, refused.text
        assert _code(refused) in ("TOO_MANY_FIELDS", "TOO_MANY_ALIASES")
    aliased = await _post(prod_client, token, {"query": fan_out(4, 2, "a: __typename")})
    assert aliased.status_code == 400 and _code(aliased) == "TOO_MANY_ALIASES"
    assert aliased.json()["errors"][0]["message"] == "16 aliases found. Allowed: 15"
    roots = await _post(
        prod_client, token, {"query": fan_out(4, 2, "seriesList { nodes { key } }")}
    )
    assert roots.status_code == 400 and _code(roots) == "TOO_MANY_ROOT_FIELDS"
    assert roots.json()["errors"][0]["message"] == (
        "16 root fields in one operation; the limit is 10"
    )
    assert (await prod_client.get("/healthz")).status_code == 200


async def test_root_fields_behind_22_fragment_levels_are_counted(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    """The old walk stopped 20 levels deep and let 19 root fields through."""
    roots = " ".join(["seriesList { __typename }"] * 19)
    chain = " ".join(f"fragment C{i} on Query {{ ...C{i + 1} }}" for i in range(22))
    document = f"query {{ ...C0 }} {chain} fragment C22 on Query {{ {roots} }}"
    response = await _post(prod_client, api_keys["read"], {"query": document})
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["message"] == (
        "19 root fields in one operation; the limit is 10"
    )


async def test_depth_through_fragments_is_counted(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    nine = "f { " * 9 + "x" + " }" * 9
    document = "query Deep { ...A } fragment A on Query { " + nine + " }"
    response = await _post(prod_client, api_keys["read"], {"query": document})
    assert response.status_code == 400 and _code(response) == "QUERY_TOO_DEEP"
    assert response.json()["errors"][0]["message"] == (
        "'Deep' exceeds maximum operation depth of 8"
    )


# ---------------------------------------------------------------- 3. operation selection

INGEST_M = 'mutation M { ingest(input: {series: [{key: "x", timestamps: [], values: []}]}) '
INGEST_M += "{ accepted } }"


async def test_several_operations_need_an_operation_name(
    database_url: str, api_keys: dict[str, str]
) -> None:
    settings = settings_for(database_url, rate_limit_ingest="2/minute")
    async with running_app(settings) as (_, client):
        token = api_keys["all"]
        document = INGEST_M + " query Q { __typename }"
        for _ in range(4):  # passed 4 of 4 times under 2/minute before
            response = await _post(client, token, {"query": document})
            assert response.status_code == 400, response.text
            assert _code(response) == "OPERATION_NAME_REQUIRED"
        statuses = [
            (await _post(client, token, {"query": document, "operationName": "M"})).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        # The other operation of the same document is not an ingest.
        other = await _post(client, token, {"query": document, "operationName": "Q"})
        assert other.status_code == 200 and other.json() == {"data": {"__typename": "Query"}}
        unknown = await _post(client, token, {"query": document, "operationName": "Nope"})
        assert unknown.status_code == 400 and _code(unknown) == "UNKNOWN_OPERATION"
        not_a_name = await _post(client, token, {"query": document, "operationName": 5})
        assert not_a_name.status_code == 400


async def test_the_scope_check_sees_the_operation_that_executes(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    delete = (
        'mutation M { deleteSamples(key: "x", from: "2025-01-01T00:00:00Z", '
        'to: "2025-01-02T00:00:00Z") { deleted } }'
    )
    document = delete + " query Q { __typename }"
    token = api_keys["read"]
    unnamed = await _post(prod_client, token, {"query": document})
    assert unnamed.status_code == 400  # 200 with a field-level FORBIDDEN before
    named = await _post(prod_client, token, {"query": document, "operationName": "M"})
    assert named.status_code == 403 and _code(named) == "FORBIDDEN"
    query = await _post(prod_client, token, {"query": document, "operationName": "Q"})
    assert query.status_code == 200


# ---------------------------------------------------------------- 4. per-key cost

UPSERT = 'mutation { upsertSeries(input: {key: "cost:a", kind: POWER, unit: "W"}) { key } }'


def _aggregate(hours: int) -> dict[str, Any]:
    query = (
        '{ series(key: "cost:a") { aggregate(from: "2025-01-01T00:00:00Z", '
        f'to: "2025-01-01T{hours:02d}:00:00Z", every: "PT1S") {{ count }} }} }}'
    )
    return {"query": query}


async def test_a_key_that_spent_its_points_waits_and_others_do_not(
    database_url: str, api_keys: dict[str, str]
) -> None:
    """A two-hour PT1S aggregate is charged 7,201 points, a one-hour one 3,601. Windows of a
    day, so that no window boundary falls inside the test."""
    token, other = api_keys["read"], api_keys["all"]
    settings = settings_for(database_url, key_cost_budget="20000/day")
    async with running_app(settings) as (_, client):
        assert (await _post(client, api_keys["ingest"], {"query": UPSERT})).status_code == 200
        first = [await _post(client, token, _aggregate(2)) for _ in range(2)]
        assert all(r.status_code == 200 and "errors" not in r.json() for r in first)
        third = await _post(client, token, _aggregate(2))  # 14,402 + 7,201 > 20,000
        assert third.status_code == 200 and _code(third) == "COST_LIMITED", third.text
        assert "errors" not in (await _post(client, token, _aggregate(1))).json()
    settings = settings_for(database_url, key_cost_budget="14402/day")
    async with running_app(settings) as (_, client):
        first = [await _post(client, token, _aggregate(2)) for _ in range(2)]
        assert all(r.status_code == 200 and "errors" not in r.json() for r in first)
        spent = await _post(client, token, {"query": "{ __typename }"})
        assert spent.status_code == 429 and _code(spent) == "COST_LIMITED"
        assert 0 < int(spent.headers["Retry-After"]) <= 86_400
        assert "errors" not in (await _post(client, other, _aggregate(2))).json()
        samples: Any = await scrape(client, other)
        assert samples[("refused_total", (("reason", "key_cost"),))] == 1


async def test_expensive_requests_per_key_run_two_at_a_time(
    database_url: str, api_keys: dict[str, str], sql: asyncpg.Connection
) -> None:
    settings = settings_for(
        database_url, key_max_expensive=2, max_expensive_requests=3, expensive_points=5_000
    )
    async with running_app(settings) as (_, client):
        assert (await _post(client, api_keys["ingest"], {"query": UPSERT})).status_code == 200
        token = api_keys["read"]
        # Hold the reads inside the database so that three are in flight at once.
        async with sql.transaction():
            await sql.execute("LOCK TABLE samples IN ACCESS EXCLUSIVE MODE")
            held = [asyncio.create_task(_post(client, token, _aggregate(2))) for _ in range(2)]
            await asyncio.sleep(0.5)
            third = await _post(client, token, _aggregate(2))
            assert _code(third) == "COST_LIMITED" and "expensive" in third.text
            cheap = await _post(client, token, {"query": "{ __typename }"})
            assert cheap.json() == {"data": {"__typename": "Query"}}
        results = await asyncio.gather(*held)
        assert all("errors" not in r.json() for r in results), results[0].text
        assert "errors" not in (await _post(client, token, _aggregate(2))).json()
        samples: Any = await scrape(client, token)
        assert samples[("refused_total", (("reason", "key_concurrency"),))] == 1


# ---------------------------------------------------------------- 2. requests being served


async def test_graphql_requests_beyond_the_limit_get_503_and_health_answers(
    database_url: str, api_keys: dict[str, str], sql: asyncpg.Connection
) -> None:
    settings = settings_for(database_url, max_graphql_requests=2, metrics_public=True)
    async with running_app(settings) as (_, client):
        assert (await _post(client, api_keys["ingest"], {"query": UPSERT})).status_code == 200
        token = api_keys["read"]
        async with sql.transaction():
            await sql.execute("LOCK TABLE samples IN ACCESS EXCLUSIVE MODE")
            held = [asyncio.create_task(_post(client, token, _aggregate(1))) for _ in range(2)]
            await asyncio.sleep(0.5)
            refused = await _post(client, token, {"query": "{ __typename }"})
            assert refused.status_code == 503 and refused.headers["Retry-After"]
            for path in ("/healthz", "/readyz", "/metrics"):
                assert (await client.get(path)).status_code == 200, path
        assert all(r.status_code == 200 for r in await asyncio.gather(*held))
        assert (await _post(client, token, {"query": "{ __typename }"})).status_code == 200
        samples: Any = await scrape(client, token)
        assert samples[("refused_total", (("reason", "overloaded"),))] == 1


# ---------------------------------------------------------------- 5. error hygiene


async def test_sample_exists_names_no_internal_ids(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    token = api_keys["ingest"]
    await _post(prod_client, token, {"query": UPSERT})
    ingest = (
        'mutation { ingest(input: {onConflict: ERROR, series: [{key: "cost:a", '
        'timestamps: ["2025-10-01T00:00:00Z"], values: [1]}]}) '
        "{ accepted userErrors { code message key } } }"
    )
    first = await _post(prod_client, token, {"query": ingest})
    assert first.json()["data"]["ingest"]["accepted"] == 1, first.text
    again = await _post(prod_client, token, {"query": ingest})
    errors = again.json()["data"]["ingest"]["userErrors"]
    assert [e["code"] for e in errors] == ["SAMPLE_EXISTS"], again.text
    message = errors[0]["message"]
    assert "series_id" not in message and "Key (" not in message and "(2," not in message
    assert "2025-10-01T00:00:00+00:00" in message and errors[0]["key"] == "cost:a"


def _upsert(**fields: str) -> dict[str, Any]:
    query = "mutation($input: SeriesInput!) { upsertSeries(input: $input) { key } }"
    values = {"key": "hygiene:a", "kind": "POWER", "unit": "W", **fields}
    return {"query": query, "variables": {"input": values}}


async def test_hostile_inputs_get_typed_errors(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str], log_lines: Any
) -> None:
    token = api_keys["all"]
    nested: Any = "leaf"
    for _ in range(200):
        nested = {"a": nested}
    labels = _upsert()
    labels["variables"]["input"]["labels"] = nested
    literal = (
        "{ seriesList(filter: {labels: " + "{a: " * 60 + "1" + "}" * 60 + "}) { __typename } }"
    )
    every = {
        "query": '{ series(key: "hygiene:a") { aggregate(from: "2025-01-01T00:00:00Z", '
        'to: "2025-01-02T00:00:00Z", every: "PT99999999999999999999H") { count } } }'
    }
    cases = {
        "labels nested 200 deep": labels,
        "labels literal nested 60 deep": {"query": literal},
        "every out of range": every,
        "1 MB source": _upsert(source="s" * 1_000_000),
        "long unit": _upsert(unit="u" * 51),
        "long name": _upsert(name="n" * 201),
        "long key": _upsert(key="k" * 201),
    }
    assert (await _post(prod_client, token, _upsert())).status_code == 200
    for what, body in cases.items():
        response = await _post(prod_client, token, body)
        assert "INTERNAL_ERROR" not in response.text, what
        codes = {e["extensions"]["code"] for e in response.json()["errors"]}
        assert codes <= {"BAD_USER_INPUT", "INVALID_INTERVAL"}, (what, response.text[:300])
    # 1,000 deep, as the attack sent it (httpx's encoder cannot nest that deep).
    text = '{"query": "mutation($i: SeriesInput!) { upsertSeries(input: $i) { key } }", '
    text += '"variables": {"i": {"key": "hygiene:a", "kind": "POWER", "unit": "W", "labels": '
    text += '{"a": ' * 1000 + "1" + "}" * 1000 + "}}}"
    deep = await prod_client.post(
        "/graphql",
        content=text.encode(),
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    assert _code(deep) == "BAD_USER_INPUT", deep.text[:300]
    site = (
        '{"query": "mutation($i: SiteInput!) { upsertSite(input: $i) { userErrors { code } } }", '
    )
    site += (
        '"variables": {"i": {"key": "hygiene", "load": "hygiene:a", "tariff": {"kind": "FIXED", '
    )
    site += '"importPriceCt": 30}, "labels": ' + '{"a": ' * 1000 + "1" + "}" * 1000 + "}}}"
    deep_site = await prod_client.post(
        "/graphql",
        content=site.encode(),
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    assert "INTERNAL_ERROR" not in deep_site.text, deep_site.text[:300]
    assert deep_site.json()["data"]["upsertSite"]["userErrors"] == [{"code": "BAD_USER_INPUT"}]
    assert "Traceback" not in log_lines.getvalue()


async def test_media_type_is_case_insensitive(
    prod_client: httpx.AsyncClient, api_keys: dict[str, str]
) -> None:
    for content_type in ("APPLICATION/JSON", "Application/Json; Charset=UTF-8"):
        response = await prod_client.post(
            "/graphql",
            content=b'{"query": "{ __typename }"}',
            headers={**bearer(api_keys["read"]), "Content-Type": content_type},
        )
        assert response.status_code == 200, (content_type, response.text)
        assert response.json() == {"data": {"__typename": "Query"}}


def test_expensive_slots_are_counted_per_key_and_per_process() -> None:
    costs = KeyCosts(None, max_expensive=1, expensive_points=10, max_expensive_total=2)
    a, b, c = costs.account("a"), costs.account("b"), costs.account("c")
    a.charge(11, "x")
    b.charge(11, "x")
    with pytest.raises(CostLimited, match="the gateway already runs 2"):
        c.charge(11, "x")
    assert c.refused == "expensive_total"
    again = costs.account("a")
    again.charge(5, "x")  # cheap requests of a busy key still run
    with pytest.raises(CostLimited, match="this key already runs 1"):
        again.charge(6, "x")
    assert again.refused == "key_concurrency"
    a.close()
    c.charge(11, "x")  # a's slot is free again
    assert costs.expensive == {"b": 1, "c": 1}
    for account in (b, c, again):
        account.close()
    assert not costs.expensive
