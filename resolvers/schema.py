"""The schema: root fields, each declaring the scope it needs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

from resolvers import (
    ingest as ingest_resolvers,
    kpis as kpi_resolvers,
    live as live_resolvers,
    market as market_resolvers,
    scenarios as scenario_resolvers,
    series as series_resolvers,
    sites as site_resolvers,
)
from resolvers.arguments import From
from resolvers.auth import Scope, scoped
from resolvers.codes import ErrorCode, describe
from resolvers.context import Context
from resolvers.kpis import StoreKpiResult
from resolvers.market import IntensityColumns, PriceColumns
from resolvers.scalars import scalar_map
from resolvers.scenarios import (
    FinishScenarioResult,
    Scenario,
    Sweep,
    UpsertScenarioResult,
    UpsertSweepResult,
)
from resolvers.series import Series, SeriesConnection
from resolvers.sites import Site, UpsertSiteResult
from resolvers.types import DeleteResult, IngestResult

__all__ = ["Mutation", "Query", "Subscription", "build_schema"]


@strawberry.type(
    description=describe(
        "Reads. A failed field is null with `errors[].extensions.code` (docs/api.md#errors): "
        "an argument code of `UserError.code`, or one of these (the HTTP-level ones also in "
        "error bodies):",
        ErrorCode,
    )
)
class Query:
    series: Series | None = strawberry.field(
        resolver=series_resolvers.get_series,
        extensions=scoped(Scope.READ),
        description="One series by key; null if there is none.",
    )
    series_list: SeriesConnection = strawberry.field(
        resolver=series_resolvers.list_series,
        extensions=scoped(Scope.READ),
        description="Series ordered by key, filtered, with cursor pagination (`first` <= 1000).",
    )
    site: Site | None = strawberry.field(
        resolver=site_resolvers.get_site,
        extensions=scoped(Scope.READ),
        description="One site by key (series by role, tariff, KPIs); null if there is none.",
    )
    sites: list[Site] = strawberry.field(
        resolver=site_resolvers.list_sites,
        extensions=scoped(Scope.READ),
        description="Sites ordered by key.",
    )
    scenario: Scenario | None = strawberry.field(
        resolver=scenario_resolvers.get_scenario,
        extensions=scoped(Scope.READ),
        description="One what-if scenario by key: inputs, status and its own site.",
    )
    sweep: Sweep | None = strawberry.field(
        resolver=scenario_resolvers.get_sweep,
        extensions=scoped(Scope.READ),
        description="A stored PV x battery sizing sweep by key.",
    )
    market_price: PriceColumns = strawberry.field(
        resolver=market_resolvers.market_price,
        extensions=scoped(Scope.READ),
        description="Day-ahead price per bucket (time-weighted mean) from the SMARD series "
        "smard:{filter}:{zone}:{resolution}, in EUR/MWh and ct/kWh.",
    )
    grid_intensity: IntensityColumns = strawberry.field(
        resolver=market_resolvers.grid_intensity,
        extensions=scoped(Scope.READ),
        description="Grid CO2 intensity (g/kWh) per bucket from SMARD generation by fuel, "
        "generation-weighted; emission factors from the `emission_factors` table.",
    )


@strawberry.type
class Mutation:
    upsert_series: Series = strawberry.field(
        resolver=series_resolvers.upsert_series,
        extensions=scoped(Scope.INGEST),
        description="Create a series or update its metadata; omitted optional fields are kept.",
    )
    ingest: IngestResult = strawberry.field(
        resolver=ingest_resolvers.ingest,
        extensions=scoped(Scope.INGEST),
        description="Write columnar samples for many series in one transaction. Idempotent; "
        "all-or-nothing: any userError means nothing was written.",
    )
    upsert_site: UpsertSiteResult = strawberry.field(
        resolver=site_resolvers.upsert_site,
        extensions=scoped(Scope.INGEST),
        description="Create or replace a site: its series by role, time zone and tariff.",
    )
    store_site_kpi: StoreKpiResult = strawberry.field(
        resolver=kpi_resolvers.store_site_kpi,
        extensions=scoped(Scope.INGEST),
        description="Compute a site KPI per bucket and store it as a KPI series "
        "(site:{site}:{kpi}:{every} by default) through the ingest write path.",
    )
    upsert_scenario: UpsertScenarioResult = strawberry.field(
        resolver=scenario_resolvers.upsert_scenario,
        extensions=scoped(Scope.INGEST),
        description="Create a scenario or change its inputs (then it is computed again). "
        "Bad input gets typed userErrors and writes nothing.",
    )
    claim_scenario: Scenario | None = strawberry.field(
        resolver=scenario_resolvers.claim_scenario,
        extensions=scoped(Scope.INGEST),
        description="For scenario services: take the oldest PENDING scenario (or one whose "
        "claim is older than `leaseSeconds`) and mark it RUNNING; each claim goes to exactly "
        "one caller. Null when there is nothing to do.",
    )
    finish_scenario: FinishScenarioResult = strawberry.field(
        resolver=scenario_resolvers.finish_scenario,
        extensions=scoped(Scope.INGEST),
        description="For scenario services: mark the claimed revision DONE or FAILED. A "
        "STALE_CLAIM userError means the inputs changed or another service took it over.",
    )
    upsert_sweep: UpsertSweepResult = strawberry.field(
        resolver=scenario_resolvers.upsert_sweep,
        extensions=scoped(Scope.INGEST),
        description="Store a PV x battery sizing sweep computed by the scenario service.",
    )

    @strawberry.mutation(
        extensions=scoped(Scope.ADMIN), description="Delete the samples of a series in [from, to)."
    )
    async def delete_samples(
        self, info: Info[Context, None], key: str, from_: From, to: datetime
    ) -> DeleteResult:
        return await ingest_resolvers.delete_samples(info, key, from_, to)


@strawberry.type(
    description="Live updates over WebSocket (graphql-transport-ws on /graphql; docs/api.md#"
    "subscriptions). Each message carries a per-subscription `sequence`."
)
class Subscription:
    samples_added = strawberry.subscription(
        resolver=live_resolvers.samples_added,
        extensions=scoped(Scope.READ),
        description="After each committed ingest into one of `keys` (1 to 100 series): the "
        "stored samples of the window it wrote, one message per series.",
    )
    aggregate_updated = strawberry.subscription(
        resolver=live_resolvers.aggregate_updated,
        extensions=scoped(Scope.READ),
        description="After each committed ingest or delete that changes buckets of this "
        "aggregate at or after `from`: those buckets, recomputed (buckets as in `aggregate`).",
    )


ExtensionFactory = type[SchemaExtension] | Callable[[], SchemaExtension]


class _Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """No-op: the gateway's masking extension logs unexpected errors with the request id;
        expected ones (bad arguments, limits) are not worth an error log line."""


def build_schema(
    extensions: Sequence[ExtensionFactory] = (), *, field_suggestions: bool = True
) -> strawberry.Schema:
    return _Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(
            scalar_map=scalar_map, disable_field_suggestions=not field_suggestions
        ),
        extensions=list(extensions),
    )
