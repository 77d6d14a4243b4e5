"""The two-tenant matrix, generated from the schema (docs/security.md, Tenants).

For every root field, the test builds a document that selects every field reachable from it
(nested objects recursively, each type once per path), runs it as tenant B before and after
tenant A stores objects under the very keys the document names, and requires identical
answers: values, keys, cursors, errors and codes. A's objects are therefore indistinguishable
from objects that do not exist. B owns objects of the same keys (keys are unique per tenant)
and platform market data, so the answers are not trivially empty.

Arguments come from two tables: `ROOT_ARGUMENTS` (per root field) and `FIELD_ARGUMENTS` (per
nested field with required arguments). A new root field, or a nested field with required
arguments, fails `test_every_field_has_a_tenant_rule` until it gets a row here, i.e. until
someone decided how it is probed.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
)

from resolvers.schema import build_schema
from tests.tenants.conftest import Caller

_DAY = 'from: "2024-03-31T00:00:00+01:00", to: "2024-04-01T00:00:00+02:00"'  # 23 h (DST)
_RANGE = f'{_DAY}, every: "PT1H"'
_SCENARIO = (
    '{key: "scn-1", site: "site-1", from: "2024-03-31T00:00:00+01:00", '
    'to: "2024-04-01T00:00:00+02:00", strategy: SELF_CONSUMPTION}'
)
_SWEEP = (
    '{key: "sweep-1", site: "site-1", from: "2024-03-31T00:00:00+01:00", '
    'to: "2024-04-01T00:00:00+02:00", cells: [{pvKwp: 5, batteryKwh: 5, investmentEur: 9000}]}'
)
_SITE = (
    '{key: "site-1", pv: "site-1:pv", load: "site-1:load", '
    'tariff: {kind: DYNAMIC, priceSeries: "smard:4169:DE:hour", surchargesCt: 20, vat: 0.19}}'
)

# Root field -> its arguments. Each names keys that A owns (after seeding) and B owns too, or
# that only A owns ("a-only..."), so B's answers would change if anything of A leaked.
ROOT_ARGUMENTS: dict[str, str] = {
    "Query.series": 'key: "site-1:pv"',
    # PRICE series have no `energy` (an error that would null the whole list).
    "Query.seriesList": "first: 1000, filter: {kinds: [POWER, ENERGY]}",
    "Query.site": 'key: "site-1"',
    "Query.sites": "first: 1000",
    "Query.scenario": 'key: "scn-1"',
    "Query.sweep": 'key: "sweep-1"',
    "Query.marketPrice": f'zone: "DE", resolution: HOUR, {_RANGE}',
    "Query.gridIntensity": f'region: "DE", resolution: HOUR, {_RANGE}',
    "Mutation.upsertSeries": 'input: {key: "a-only:pv", kind: POWER, unit: "kW"}',
    "Mutation.ingest": (
        'input: {series: [{key: "a-only:load", timestamps: ["2024-03-31T01:00:00Z"], '
        "values: [1.5]}]}"
    ),
    "Mutation.upsertSite": (
        'input: {key: "b-site", load: "a-only:load", tariff: {kind: FIXED, importPriceCt: 30}}'
    ),
    "Mutation.storeSiteKpi": f'site: "a-only-site", kpi: PRODUCTION, {_RANGE}',
    "Mutation.upsertScenario": (
        'input: {key: "b-scn", site: "a-only-site", from: "2024-03-31T00:00:00+01:00", '
        'to: "2024-04-01T00:00:00+02:00", strategy: SELF_CONSUMPTION}'
    ),
    "Mutation.claimScenario": 'worker: "b-worker"',
    "Mutation.finishScenario": 'key: "a-only-scn", revision: 1, outcome: DONE',
    "Mutation.upsertSweep": (
        'input: {key: "b-sweep", site: "a-only-site", from: "2024-03-31T00:00:00+01:00", '
        'to: "2024-04-01T00:00:00+02:00", cells: [{pvKwp: 5, batteryKwh: 5, investmentEur: 1}]}'
    ),
    "Mutation.deleteSamples": f'key: "a-only:load", {_DAY}',
}

# Nested fields with required arguments -> the arguments the probe passes.
FIELD_ARGUMENTS: dict[str, str] = {
    "Series.energy": _RANGE,
    "Series.samples": f"{_DAY}, limit: 50",
    "Series.aggregate": _RANGE,
    "Site.kpis": _RANGE,
}

_SKIP_TYPES = {"Mutation", "Query"}


def _named(type_: GraphQLOutputType) -> Any:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def _selection(type_: GraphQLObjectType, path: tuple[str, ...]) -> str:
    """Every field of `type_`; object types recurse until they are twice on the path (so
    `Series.forecasts` is selected, and selects its own fields, without cycling)."""
    parts = []
    for name, field in type_.fields.items():
        target = _named(field.type)
        args = FIELD_ARGUMENTS.get(f"{type_.name}.{name}")
        call = f"{name}({args})" if args else name
        if isinstance(target, GraphQLObjectType):
            if path.count(target.name) >= 2:
                continue
            parts.append(f"{call} {{ {_selection(target, (*path, target.name))} }}")
        else:
            parts.append(call)
    return " ".join(parts)


def _schema_fields() -> dict[str, Any]:
    schema = build_schema()._schema
    out: dict[str, Any] = {}
    for type_ in schema.type_map.values():
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__"):
            for name, field in type_.fields.items():
                out[f"{type_.name}.{name}"] = field
    return out


def _root_fields() -> list[str]:
    return sorted(f for f in _schema_fields() if f.split(".")[0] in _SKIP_TYPES)


def document(root: str) -> str:
    schema = build_schema()._schema
    kind, name = root.split(".")
    parent = schema.query_type if kind == "Query" else schema.mutation_type
    assert parent is not None
    target = _named(parent.fields[name].type)
    call = f"{name}({ROOT_ARGUMENTS[root]})"
    body = f"{call} {{ {_selection(target, (target.name,))} }}"
    return f"{kind.lower()} {{ {body} }}"


def test_every_field_has_a_tenant_rule() -> None:
    fields = _schema_fields()
    roots = {f for f in fields if f.split(".")[0] in _SKIP_TYPES}
    assert roots == set(ROOT_ARGUMENTS), "root fields without a tenant probe (or stale rows)"
    required = {
        name
        for name, field in fields.items()
        if name not in roots
        and any(
            isinstance(a.type, GraphQLNonNull) and a.default_value is None
            for a in field.args.values()
        )  # fmt: skip
    }
    assert required <= set(FIELD_ARGUMENTS), "nested fields with required arguments unprobed"
    assert set(FIELD_ARGUMENTS) <= set(fields), "stale FIELD_ARGUMENTS rows"


_SERIES = """mutation($key: String!, $kind: SeriesKind!, $unit: String!, $labels: JSON) {
  upsertSeries(input: {key: $key, kind: $kind, unit: $unit, labels: $labels}) { key }
}"""
_INGEST = """mutation($key: String!, $values: [Float!]!) {
  ingest(input: {series: [{key: $key, values: $values, timestamps: [
    "2024-03-31T00:00:00Z", "2024-03-31T01:00:00Z", "2024-03-31T05:00:00Z"]}]})
  { inserted userErrors { code } }
}"""
_GENERATION = (1223, 4069, 4071)


async def _series(call: Caller, key: str, kind: str, unit: str, values: list[float]) -> None:
    # POWER series are forecasts of site-1:pv too, so `Series.forecasts` has rows to leak.
    labels = {"forecast_of": "site-1:pv"} if kind == "POWER" else {}
    created = await call(_SERIES, {"key": key, "kind": kind, "unit": unit, "labels": labels})
    assert "errors" not in created, created
    written = await call(_INGEST, {"key": key, "values": values})
    assert written["data"]["ingest"]["userErrors"] == [], written


async def seed_platform(platform: Caller) -> None:
    await _series(platform, "smard:4169:DE:hour", "PRICE", "EUR/MWh", [80.0, 90.0, 100.0])
    for filter_id in _GENERATION:
        await _series(platform, f"smard:{filter_id}:DE:hour", "ENERGY", "MWh", [5.0, 6.0, 7.0])


async def seed_tenant(call: Caller, scale: float, *, extra: bool) -> None:
    """Series, a site, a scenario and a sweep under the shared keys; with `extra`, A's keys
    that B never has, and A's own series under the platform's market keys."""
    await _series(call, "site-1:pv", "POWER", "kW", [scale, 2 * scale, 3 * scale])
    await _series(call, "site-1:load", "POWER", "kW", [scale, scale, scale])
    for document_ in (
        f"mutation {{ upsertSite(input: {_SITE}) {{ userErrors {{ code }} }} }}",
        f"mutation {{ upsertScenario(input: {_SCENARIO}) {{ userErrors {{ code }} }} }}",
        f"mutation {{ upsertSweep(input: {_SWEEP}) {{ userErrors {{ code }} }} }}",
    ):
        result = await call(document_)
        assert "errors" not in result, result
        assert all(not v["userErrors"] for v in result["data"].values()), result
    if not extra:
        return
    await _series(call, "a-only:load", "POWER", "kW", [9.0, 9.0, 9.0])
    # A's own market series shadow the platform's for A only (docs/security.md).
    await _series(call, "smard:4169:DE:hour", "PRICE", "EUR/MWh", [999.0, 999.0, 999.0])
    await _series(call, "smard:1223:DE:hour", "ENERGY", "MWh", [999.0, 999.0, 999.0])
    site = _SITE.replace('"site-1"', '"a-only-site"')
    for document_ in (
        f"mutation {{ upsertSite(input: {site}) {{ userErrors {{ code }} }} }}",
        f"mutation {{ upsertScenario(input: {_SCENARIO.replace('scn-1', 'a-only-scn')}) "
        "{ userErrors { code } } }",
    ):
        result = await call(document_)
        assert all(not v["userErrors"] for v in result["data"].values()), result


@pytest.fixture
async def clean_scenarios(admin_sql: asyncpg.Pool) -> None:
    await admin_sql.execute("TRUNCATE scenarios, scenario_sweeps")


async def _a_view(acme: Caller) -> dict[str, Any]:
    """Everything A sees, to check B's mutations left it alone."""
    return {root: await acme(document(root)) for root in _root_fields() if "Query" in root}


@pytest.mark.parametrize("root", _root_fields())
async def test_tenant_b_cannot_tell_tenant_a_exists(
    root: str, acme: Caller, beta: Caller, platform: Caller, clean_scenarios: None
) -> None:
    await seed_platform(platform)
    await seed_tenant(beta, 1.0, extra=False)
    probe = document(root)
    await beta(probe)  # mutations reach their steady state first (a claim takes B's own job)
    without_a = await beta(probe)
    await seed_tenant(acme, 10.0, extra=True)
    mutation = root.startswith("Mutation.")
    a_before = await _a_view(acme) if mutation else None
    with_a = await beta(probe)
    assert with_a == without_a
    assert "INTERNAL_ERROR" not in str(with_a)
    if mutation:
        assert await _a_view(acme) == a_before, "B's mutation changed what A sees"


async def test_probes_reach_data(
    acme: Caller, beta: Caller, platform: Caller, clean_scenarios: None
) -> None:
    """The probes are not vacuous: B's site, series and market reads return B's values and
    the platform's prices; A reads its own shadowing price series (precedence)."""
    await seed_platform(platform)
    await seed_tenant(beta, 1.0, extra=False)
    await seed_tenant(acme, 10.0, extra=True)
    b_series = await beta(document("Query.series"))
    assert b_series["data"]["series"]["samples"]["values"] == [1.0, 2.0, 3.0]
    a_series = await acme(document("Query.series"))
    assert a_series["data"]["series"]["samples"]["values"] == [10.0, 20.0, 30.0]
    b_price = await beta(document("Query.marketPrice"))
    a_price = await acme(document("Query.marketPrice"))
    b_prices = [v for v in b_price["data"]["marketPrice"]["eurPerMwh"] if v is not None]
    a_prices = [v for v in a_price["data"]["marketPrice"]["eurPerMwh"] if v is not None]
    assert b_prices and max(b_prices) <= 100.0  # the platform's 80, 90, 100
    assert a_prices and min(a_prices) == 999.0  # A's own series of that key
    b_sites = await beta(document("Query.sites"))
    assert [s["key"] for s in b_sites["data"]["sites"]] == ["site-1"]
    b_list = await beta(document("Query.seriesList"))
    keys = [e["node"]["key"] for e in b_list["data"]["seriesList"]["edges"]]
    assert "site-1:pv" in keys and "smard:1223:DE:hour" in keys and "a-only:load" not in keys
    forecasts = b_series["data"]["series"]["forecasts"]
    assert sorted(f["key"] for f in forecasts) == ["site-1:load", "site-1:pv"]
    assert (await beta(document("Query.scenario")))["data"]["scenario"]["key"] == "scn-1"
