"""`marketPrice` and `gridIntensity`: market data from the SMARD scraper's series."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from db import energy as db_energy, market as db_market
from db.series import SeriesRecord
from resolvers import plausibility as rules
from resolvers.arguments import From, To, check_every, check_read_range, check_timezone
from resolvers.codes import UserErrorCode
from resolvers.context import Context
from resolvers.errors import InvalidArgument, NotFound
from resolvers.kpi_types import KpiWarning
from resolvers.plausibility import check_columns, check_extremes, coverage_warnings
from resolvers.scalars import DateTimeColumn, FloatColumn, NullableFloatColumn

__all__ = [
    "EmissionFactor",
    "EmissionFactorFamily",
    "EmissionFactorInput",
    "IntensityColumns",
    "MarketResolution",
    "PriceColumns",
    "grid_intensity",
    "intensity_sources",
    "market_price",
]

_REGION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,19}$")


@strawberry.enum(description="SMARD resolution of the source series.")
class MarketResolution(enum.Enum):
    HOUR = "hour"
    QUARTERHOUR = "quarterhour"


@strawberry.enum(description="Emission factor family; one family per KPI, never mixed.")
class EmissionFactorFamily(enum.Enum):
    LIFECYCLE = strawberry.enum_value(
        "LIFECYCLE", description="CO2-eq, IPCC AR5 lifecycle medians (default)."
    )
    DIRECT = strawberry.enum_value(
        "DIRECT", description="Combustion CO2 only, comparable with UBA's annual factor."
    )


@strawberry.input(description="Replace the factor of one SMARD generation filter.")
class EmissionFactorInput:
    filter: int
    g_per_kwh: float


@strawberry.type
class EmissionFactor:
    filter: int
    fuel: str
    g_per_kwh: float
    key: str = strawberry.field(description="The generation series read for this fuel.")
    present: bool = strawberry.field(description="Whether that series exists.")


@strawberry.type
class PriceTotal:
    eur_per_mwh: float | None
    ct_per_kwh: float | None
    coverage: float


@strawberry.type(description="Time-weighted mean day-ahead price per bucket.")
class PriceColumns:
    key: str
    starts: list[datetime] = strawberry.field(graphql_type=DateTimeColumn)
    ends: list[datetime] = strawberry.field(graphql_type=DateTimeColumn)
    eur_per_mwh: list[float | None] = strawberry.field(graphql_type=NullableFloatColumn)
    ct_per_kwh: list[float | None] = strawberry.field(graphql_type=NullableFloatColumn)
    coverage: list[float] = strawberry.field(graphql_type=FloatColumn)
    total: PriceTotal
    warnings: list[KpiWarning]


@strawberry.type
class IntensityTotal:
    g_per_kwh: float | None
    generation_mwh: float | None
    coverage: float


@strawberry.type(
    description="Production-based grid CO2 intensity per bucket, generation-weighted: "
    "sum(Gen_f x EF_f) / sum(Gen_f) over fuels and time (pumped storage excluded)."
)
class IntensityColumns:
    region: str
    family: EmissionFactorFamily
    starts: list[datetime] = strawberry.field(graphql_type=DateTimeColumn)
    ends: list[datetime] = strawberry.field(graphql_type=DateTimeColumn)
    g_per_kwh: list[float | None] = strawberry.field(graphql_type=NullableFloatColumn)
    generation_mwh: list[float | None] = strawberry.field(graphql_type=NullableFloatColumn)
    coverage: list[float] = strawberry.field(graphql_type=FloatColumn)
    total: IntensityTotal
    factors: list[EmissionFactor]
    warnings: list[KpiWarning]


def check_region(region: str, argument: str = "region") -> str:
    if not _REGION.match(region):
        raise InvalidArgument(f"`{argument}` must look like a SMARD region, e.g. DE or DE-LU")
    return region


def _ratio(covered: float, length: float) -> float:
    return covered / length if length > 0 else 0.0


def _mean(pos: float | None, neg: float | None, covered_s: float) -> float | None:
    if covered_s <= 0 or (pos is None and neg is None):
        return None
    return ((pos or 0.0) - (neg or 0.0)) * 3600 / covered_s


async def market_price(
    info: Info[Context, None],
    zone: str,
    resolution: MarketResolution,
    from_: From,
    to: To,
    every: str,
    timezone: str | None = None,
    filter_id: Annotated[
        int, strawberry.argument(name="filter", description="SMARD price filter id.")
    ] = db_market.PRICE_FILTER,
) -> PriceColumns:
    start, end = from_, to
    check_read_range(start, end)
    width = check_every(every)
    key = db_market.smard_key(filter_id, check_region(zone, "zone"), resolution.value)
    ctx = info.context
    record = await ctx.loaders.series_by_key.load(key)
    if record is None:
        raise NotFound(f"no price series {key!r}; the SMARD scraper publishes it")
    zone_tz = check_timezone(timezone or record.timezone)
    ctx.budget.spend(width.max_buckets(start, end), "marketPrice")
    source = db_energy.source_for(record, hold=True)
    rows, total = await db_energy.fetch_energy(
        ctx.database, source, start=start, end=end, width=width, timezone=zone_tz
    )
    means = [
        _mean(p, n, c) for p, n, c in zip(rows.positive, rows.negative, rows.covered_s, strict=True)
    ]
    coverage = [_ratio(c, n) for c, n in zip(rows.covered_s, rows.length_s, strict=True)]
    total_mean = _mean(total.positive[0], total.negative[0], total.covered_s[0])
    total_coverage = _ratio(total.covered_s[0], total.length_s[0])
    warnings = coverage_warnings(coverage, total_coverage, "price")
    # Every price interval is checked, not the bucket mean: one hour at 4,000 EUR/MWh in a day.
    for index, (low, high) in enumerate(zip(rows.low, rows.high, strict=True)):
        warnings += check_extremes(rules.MARKET_PRICE, low, high, index)
    return PriceColumns(
        key=key,
        starts=rows.starts,
        ends=rows.ends,
        eur_per_mwh=means,
        ct_per_kwh=[m / 10 if m is not None else None for m in means],
        coverage=coverage,
        total=PriceTotal(
            eur_per_mwh=total_mean,
            ct_per_kwh=total_mean / 10 if total_mean is not None else None,
            coverage=total_coverage,
        ),
        warnings=warnings,
    )


async def intensity_sources(
    info: Info[Context, None],
    region: str,
    resolution: MarketResolution,
    family: EmissionFactorFamily,
    overrides: Sequence[EmissionFactorInput] | None,
) -> tuple[list[tuple[db_energy.Source, float]], list[EmissionFactor], list[SeriesRecord]]:
    """Generation series and factors of a region; fuels without a series are left out."""
    ctx = info.context
    factors = await db_market.fetch_factors(ctx.database, family.name)
    by_filter = {f.filter: f for f in factors}
    for item in overrides or []:
        if item.filter not in by_filter:
            raise InvalidArgument(
                f"no generation filter {item.filter} in the {family.name} factor table",
                code=UserErrorCode.UNKNOWN_FACTOR,
            )
        if not (math.isfinite(item.g_per_kwh) and item.g_per_kwh >= 0):
            raise InvalidArgument("`gPerKwh` must be a finite number >= 0")
        old = by_filter[item.filter]
        by_filter[item.filter] = db_market.Factor(old.filter, old.fuel, item.g_per_kwh)
    keys = [db_market.smard_key(f, region, resolution.value) for f in by_filter]
    records = await ctx.loaders.series_by_key.load_many(keys)
    sources: list[tuple[db_energy.Source, float]] = []
    listed: list[EmissionFactor] = []
    found: list[SeriesRecord] = []
    for factor, key, record in zip(by_filter.values(), keys, records, strict=True):
        listed.append(
            EmissionFactor(
                filter=factor.filter,
                fuel=factor.fuel,
                g_per_kwh=factor.g_per_kwh,
                key=key,
                present=record is not None,
            )
        )
        if record is None:
            continue
        try:
            sources.append((db_energy.source_for(record), factor.g_per_kwh))
        except db_energy.UnsupportedSeries as exc:
            raise InvalidArgument(str(exc), code=UserErrorCode[exc.code]) from None
        found.append(record)
    return sources, listed, found


def missing_fuel_warnings(factors: Sequence[EmissionFactor]) -> list[KpiWarning]:
    missing = [f for f in factors if not f.present]
    if not missing:
        return []
    names = ", ".join(f"{f.fuel} ({f.key})" for f in missing)
    message = f"no generation series for: {names}; left out of the intensity"
    return [rules.event(rules.MISSING_FUEL, message)]


async def grid_intensity(
    info: Info[Context, None],
    region: str,
    from_: From,
    to: To,
    every: str,
    timezone: str | None = None,
    resolution: MarketResolution = MarketResolution.HOUR,
    family: EmissionFactorFamily = EmissionFactorFamily.LIFECYCLE,
    factors: Annotated[
        list[EmissionFactorInput] | None,
        strawberry.argument(description="Replace factors of the family for this request."),
    ] = None,
) -> IntensityColumns:
    start, end = from_, to
    check_read_range(start, end)
    width = check_every(every)
    check_region(region)
    sources, listed, records = await intensity_sources(info, region, resolution, family, factors)
    if not sources:
        raise NotFound(
            f"no SMARD generation series for region {region!r} at {resolution.value} "
            "resolution; the SMARD scraper publishes them"
        )
    zone = check_timezone(timezone or records[0].timezone)
    ctx = info.context
    ctx.budget.spend(width.max_buckets(start, end), "gridIntensity")
    rows, total = await db_market.fetch_intensity(
        ctx.database, sources, start=start, end=end, width=width, timezone=zone
    )
    coverage = [_ratio(c, n) for c, n in zip(rows.covered_s, rows.length_s, strict=True)]
    total_coverage = _ratio(total.covered_s[0], total.length_s[0])
    warnings = missing_fuel_warnings(listed)
    warnings += coverage_warnings(coverage, total_coverage, "intensity")
    warnings += check_columns(rules.MARKET_INTENSITY, rows.intensity, total.intensity[0])

    def mwh(values: list[float | None]) -> list[float | None]:
        return [v / 1000 if v is not None else None for v in values]

    return IntensityColumns(
        region=region,
        family=family,
        starts=rows.starts,
        ends=rows.ends,
        g_per_kwh=rows.intensity,
        generation_mwh=mwh(rows.generation_kwh),
        coverage=coverage,
        total=IntensityTotal(
            g_per_kwh=total.intensity[0],
            generation_mwh=mwh(total.generation_kwh)[0],
            coverage=total_coverage,
        ),
        factors=listed,
        warnings=warnings,
    )
