"""Site KPIs (docs/domain.md §3): energies, self-consumption and autarky, cost and savings, CO2,
each with coverage and plausibility warnings; and storing a KPI as a KPI series."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

import numpy as np
import strawberry
from strawberry.types import Info

from db import (
    energy as db_energy,
    kpi as db_kpi,
    samples as db_samples,
    series as db_series,
    sites as db_sites,
    tenancy,
)
from db.intervals import BucketWidth
from db.kpi import KpiPlan, KpiRow
from db.sites import SiteRecord
from resolvers import plausibility as rules
from resolvers.arguments import check_every, check_read_range, check_timezone, valid_key
from resolvers.cache import Span, finite
from resolvers.cache_codecs import KPI
from resolvers.codes import UserErrorCode, as_user_error
from resolvers.context import Context
from resolvers.errors import BudgetExceeded, CostLimited, InvalidArgument, NotFound
from resolvers.kpi_types import KpiWarning
from resolvers.market import (
    EmissionFactorFamily,
    MarketResolution,
    intensity_sources,
    missing_fuel_warnings,
)
from resolvers.plausibility import check, check_extremes, coverage_warnings, event
from resolvers.types import UserError

__all__ = [
    "SiteKpiName",
    "SiteKpiValues",
    "SiteKpis",
    "StoreKpiResult",
    "site_kpis",
    "store_site_kpi",
]

_HOUR = timedelta(hours=1)
_YEAR_H = 8760.0
# Household ranges are per year: periods of four weeks or more are annualised, and the yearly
# anchors (PV yield, autarky with a battery) need a whole year (docs/plausibility.md).
_ANNUALISED_MIN_H = 28 * 24
_YEARLY_MIN_H = 365 * 24
Found = KpiWarning | None


@strawberry.type(description="KPIs of one bucket (or the total). Energies in kWh, money in EUR.")
class SiteKpiValues:
    start: datetime
    end: datetime
    production: float = strawberry.field(description="G: PV generation.")
    consumption: float = strawberry.field(description="L: site load (measured or G+I+D-E-C).")
    grid_import: float = strawberry.field(description="I.")
    grid_export: float = strawberry.field(description="E.")
    battery_charge: float = strawberry.field(description="C (AC side).")
    battery_discharge: float = strawberry.field(description="D (AC side).")
    self_consumption: float = strawberry.field(description="SC = G - E.")
    self_supply: float = strawberry.field(description="SS = L - I.")
    self_consumption_rate: float | None = strawberry.field(
        description="SCR = (G - E) / G from sums; null when G = 0."
    )
    autarky: float | None = strawberry.field(
        description="AUT = (L - I) / L from sums; null when L = 0."
    )
    import_cost: float | None = strawberry.field(description="sum(I_t x p_imp,t).")
    feed_in_revenue: float = strawberry.field(description="sum(E_t x p_fit).")
    baseline_cost: float | None = strawberry.field(
        description="No-PV baseline: sum(L_t x p_imp,t)."
    )
    system_cost: float | None = strawberry.field(description="import cost - feed-in revenue.")
    savings: float | None = strawberry.field(description="baseline cost - system cost.")
    average_import_price: float | None = strawberry.field(
        description="Volume-weighted import price paid, EUR/kWh: sum(I_t p_t) / sum(I_t)."
    )
    co2_import: float | None = strawberry.field(description="sum(I_t x CI_t), kg.")
    co2_avoided: float | None = strawberry.field(
        description="Own-consumption view: sum((L_t - I_t) x CI_t), kg."
    )
    coverage: float = strawberry.field(
        description="Least coverage of the site's series in this bucket, 0-1."
    )
    price_coverage: float = strawberry.field(description="Share of time with a price, 0-1.")
    intensity_coverage: float = strawberry.field(
        description="Share of time with a grid intensity, 0-1."
    )


@strawberry.type(description="Site KPIs per bucket and in total, with warnings.")
class SiteKpis:
    site: str
    timezone: str
    every: str
    resolution: str = strawberry.field(description="Step at which flows are computed.")
    emission_factors: EmissionFactorFamily
    buckets: list[SiteKpiValues]
    total: SiteKpiValues
    warnings: list[KpiWarning]


@strawberry.enum(description="A KPI that can be stored as a series.")
class SiteKpiName(enum.Enum):
    PRODUCTION = "production"
    CONSUMPTION = "consumption"
    GRID_IMPORT = "grid_import"
    GRID_EXPORT = "grid_export"
    SELF_CONSUMPTION_RATE = "self_consumption_rate"
    AUTARKY = "autarky"
    IMPORT_COST = "import_cost"
    FEED_IN_REVENUE = "feed_in_revenue"
    SAVINGS = "savings"
    CO2_IMPORT = "co2_import"
    CO2_AVOIDED = "co2_avoided"


KPI_UNITS = {
    "production": "kWh",
    "consumption": "kWh",
    "grid_import": "kWh",
    "grid_export": "kWh",
    "self_consumption_rate": "1",
    "autarky": "1",
    "import_cost": "EUR",
    "feed_in_revenue": "EUR",
    "savings": "EUR",
    "co2_import": "kg",
    "co2_avoided": "kg",
}


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def _values(row: KpiRow, start: datetime, end: datetime) -> SiteKpiValues:
    g, load, i, e = row.production, row.consumption, row.grid_import, row.grid_export
    system = row.import_cost - row.feed_in_revenue if row.import_cost is not None else None
    savings = (
        row.baseline_cost - system if row.baseline_cost is not None and system is not None else None
    )
    coverage = (
        min((c / row.length_s for c in row.role_covered_s.values()), default=0.0)
        if row.length_s > 0
        else 0.0
    )
    avg_price = None
    if row.import_cost is not None and row.import_priced:
        avg_price = row.import_cost / row.import_priced
    return SiteKpiValues(
        start=start,
        end=end,
        production=g,
        consumption=load,
        grid_import=i,
        grid_export=e,
        battery_charge=row.battery_charge,
        battery_discharge=row.battery_discharge,
        self_consumption=g - e,
        self_supply=load - i,
        self_consumption_rate=_ratio(g - e, g),
        autarky=_ratio(load - i, load),
        import_cost=row.import_cost,
        feed_in_revenue=row.feed_in_revenue,
        baseline_cost=row.baseline_cost,
        system_cost=system,
        savings=savings,
        average_import_price=avg_price,
        co2_import=row.co2_import,
        co2_avoided=row.co2_avoided,
        coverage=coverage,
        price_coverage=row.price_covered_s / row.length_s if row.length_s > 0 else 0.0,
        intensity_coverage=row.intensity_covered_s / row.length_s if row.length_s > 0 else 0.0,
    )


def _check_step(resolution: str, every: BucketWidth) -> BucketWidth:
    step = check_every(resolution)
    if step.fixed is None or step.fixed > _HOUR or _HOUR % step.fixed:
        raise InvalidArgument(
            "`resolution` must divide PT1H (PT5M, PT15M, PT30M, PT1H, ...)",
            code=UserErrorCode.INVALID_INTERVAL,
        )
    if every.fixed is not None and every.fixed % step.fixed:
        raise InvalidArgument(
            f"`every` must be a multiple of the resolution {resolution}",
            code=UserErrorCode.INVALID_INTERVAL,
        )
    return step


@dataclass
class _Checks:
    site: SiteRecord
    rows: list[SiteKpiValues]
    raw: list[KpiRow]
    measured_load: bool
    measured_grid: bool
    has_battery: bool
    dynamic: bool
    has_intensity: bool


def _residual(v: SiteKpiValues) -> float:
    """(G + I + D - L - E - C) / L: what the measured flows fail to balance."""
    inflow = v.production + v.grid_import + v.battery_discharge
    return (inflow - v.consumption - v.grid_export - v.battery_charge) / v.consumption


def _bucket_checks(ctx: _Checks, index: int | None, v: SiteKpiValues, r: KpiRow) -> list[Found]:
    """The rules reported per bucket (and again for the total row)."""
    found: list[Found] = [
        check(rules.SELF_CONSUMPTION_RATE, v.self_consumption_rate, index),
        check(rules.AUTARKY_RATIO, v.autarky, index),
    ]
    if r.negative_load_steps and not ctx.measured_load:
        found.append(
            event(
                rules.NEGATIVE_LOAD,
                f"consumption from the balance is negative in {r.negative_load_steps} "
                "step(s): a meter, sign or unit is wrong",
                bucket=index,
                value=float(r.negative_load_steps),
            )
        )
    if ctx.measured_load and ctx.measured_grid and v.consumption > 0:
        found.append(check(rules.BALANCE, _residual(v), index))
    if ctx.site.pv_peak_kw and r.peak_pv_kw is not None:
        found.append(check(rules.PV_RATING, r.peak_pv_kw / ctx.site.pv_peak_kw, index))
    found.append(check(rules.PEAK_LOAD, r.peak_load_kw, index))
    if ctx.dynamic:
        found += check_extremes(rules.SITE_PRICE, r.min_price, r.max_price, index)
    found += check_extremes(rules.SITE_INTENSITY, r.min_intensity, r.max_intensity, index)
    return found


def _total_checks(ctx: _Checks) -> list[Found]:
    """The rules reported for the whole period; yearly ranges only on long enough periods."""
    total, hours = ctx.rows[-1], ctx.raw[-1].length_s / 3600
    per_year = _YEAR_H / hours if hours > 0 else 0.0
    found: list[Found] = []
    if total.average_import_price is not None:
        found.append(check(rules.IMPORT_PRICE, total.average_import_price * 100))
    found.append(check(rules.FEED_IN, ctx.site.feed_in_ct))
    if hours >= _ANNUALISED_MIN_H:
        found.append(check(rules.CONSUMPTION, total.consumption * per_year))
        if total.co2_import is not None:
            found.append(check(rules.CO2, total.co2_import * per_year / 1000))
        if ctx.has_battery and total.battery_charge > 0:
            efficiency = total.battery_discharge / total.battery_charge
            found.append(check(rules.BATTERY_EFFICIENCY, efficiency))
    if hours >= _YEARLY_MIN_H:
        if ctx.site.pv_peak_kw:
            found.append(check(rules.PV_YIELD, total.production * per_year / ctx.site.pv_peak_kw))
        if ctx.has_battery:
            found.append(check(rules.AUTARKY, total.autarky))
    return found


def _plausibility(ctx: _Checks) -> list[KpiWarning]:
    indices: list[int | None] = [*range(len(ctx.rows) - 1), None]
    found: list[Found] = []
    for index, values, raw in zip(indices, ctx.rows, ctx.raw, strict=True):
        found += _bucket_checks(ctx, index, values, raw)
    found += _total_checks(ctx)
    return [w for w in found if w is not None]


def _coverage_warnings(ctx: _Checks) -> list[KpiWarning]:
    out: list[KpiWarning] = []
    rows, raw = ctx.rows, ctx.raw
    for role, key in ctx.site.roles().items():
        shares = [r.role_covered_s[role] / r.length_s if r.length_s else 0.0 for r in raw]
        out += coverage_warnings(shares[:-1], shares[-1], f"{role} ({key})")
    if ctx.dynamic:
        out += coverage_warnings(
            [v.price_coverage for v in rows[:-1]],
            rows[-1].price_coverage,
            "price",
            rules.PRICE_COVERAGE,
        )
    if not ctx.has_intensity:
        out.append(
            event(
                rules.NO_INTENSITY,
                "no grid intensity: no SMARD generation series for the site's region and no "
                "fixed `co2Intensity`; CO2 is null",
            )
        )
    else:
        out += coverage_warnings(
            [v.intensity_coverage for v in rows[:-1]],
            rows[-1].intensity_coverage,
            "co2",
            rules.INTENSITY_COVERAGE,
        )
    return out


async def _fetch_kpis(
    ctx: Context,
    plan: KpiPlan,
    *,
    start: datetime,
    end: datetime,
    step: BucketWidth,
    every: BucketWidth,
    zone: str,
) -> list[KpiRow]:
    """The KPI rows, through the result cache for closed ranges. They depend on each series
    as a whole: the integration reaches for the neighbour sample on each side of the range,
    however far away it is (db.energy)."""

    async def compute() -> list[KpiRow]:
        return await db_kpi.fetch_site_kpis(
            ctx.database, plan, start=start, end=end, step=step, every=every, timezone=zone
        )

    if ctx.cache is None or not ctx.cache.cacheable(end):
        return await compute()
    ids = {s.series_id for s in plan.roles.values()} | {s.series_id for s, _ in plan.intensity}
    if plan.price is not None:
        ids.add(plan.price.series_id)
    key = (repr(plan), start.isoformat(), end.isoformat(), step.iso, every.iso, zone)
    spans = [Span(sid) for sid in sorted(ids)]
    return await ctx.cache.get(KPI, key, spans, compute, storable=_storable)


def _storable(rows: list[KpiRow]) -> bool:
    return all(finite(vars(row).values()) for row in rows)


async def site_kpis(
    info: Info[Context, None],
    site: SiteRecord,
    *,
    start: datetime,
    end: datetime,
    every: str,
    timezone: str | None,
    resolution: str,
    family: EmissionFactorFamily,
) -> SiteKpis:
    check_read_range(start, end)
    width = check_every(every)
    step = _check_step(resolution, width)
    zone = check_timezone(timezone or site.timezone)
    ctx = info.context
    ctx.budget.spend(width.max_buckets(start, end), "site KPIs")
    # The step grid is computed, not returned, but its size is what the query costs.
    ctx.budget.spend(step.max_buckets(start, end), f"site KPI steps of {step.iso}")
    roles = site.roles()
    records = await ctx.loaders.series_by_key.load_many(list(roles.values()))
    sources: dict[str, db_energy.Source] = {}
    for (role, key), record in zip(roles.items(), records, strict=True):
        if record is None:
            raise InvalidArgument(
                f"role {role}: no series {key!r}", code=UserErrorCode.UNKNOWN_SERIES
            )
        try:
            sources[role] = db_energy.source_for(record)
        except db_energy.UnsupportedSeries as exc:
            raise InvalidArgument(str(exc), code=UserErrorCode[exc.code]) from None
    price = None
    if site.tariff == "DYNAMIC":
        assert site.price_key is not None
        price_record = await ctx.loaders.series_by_key.load(site.price_key)
        if price_record is None:
            raise InvalidArgument(
                f"no price series {site.price_key!r}", code=UserErrorCode.UNKNOWN_SERIES
            )
        price = db_energy.source_for(price_record, hold=True)
    intensity: list[tuple[db_energy.Source, float]] = []
    warnings: list[KpiWarning] = []
    if site.co2_intensity is None:
        # Quarter-hour generation when the scraper has it, else hourly.
        for res in (MarketResolution.QUARTERHOUR, MarketResolution.HOUR):
            found, listed, _ = await intensity_sources(info, site.co2_region, res, family, None)
            if found:
                intensity = found
                warnings += missing_fuel_warnings(listed)
                break
    plan = KpiPlan(
        roles=sources,
        tariff=site.tariff,
        import_price_ct=site.import_price_ct,
        feed_in_ct=site.feed_in_ct,
        surcharges_ct=site.surcharges_ct,
        vat=site.vat,
        price=price,
        intensity_fixed=site.co2_intensity,
        intensity=intensity,
    )
    raw = await _fetch_kpis(ctx, plan, start=start, end=end, step=step, every=width, zone=zone)
    rows = [
        _values(r, r.start or start, r.end if r.start is not None and r.end else end) for r in raw
    ]
    checks = _Checks(
        site=site,
        rows=rows,
        raw=raw,
        measured_load="load" in roles,
        measured_grid=any(r in roles for r in ("grid", "grid_import")),
        has_battery=any(r in roles for r in ("battery", "battery_charge")),
        dynamic=site.tariff == "DYNAMIC",
        has_intensity=site.co2_intensity is not None or bool(intensity),
    )
    warnings += _coverage_warnings(checks) + _plausibility(checks)
    return SiteKpis(
        site=site.key,
        timezone=zone,
        every=width.iso,
        resolution=step.iso,
        emission_factors=family,
        buckets=rows[:-1],
        total=rows[-1],
        warnings=warnings,
    )


@strawberry.type(description="Result of storing a KPI as a series.")
class StoreKpiResult:
    key: str | None = strawberry.field(description="The KPI series written.")
    written: int = strawberry.field(description="Buckets written (null values are skipped).")
    skipped: int
    warnings: list[KpiWarning]
    user_errors: list[UserError]


def _rejected(code: UserErrorCode, message: str, key: str | None = None) -> StoreKpiResult:
    return StoreKpiResult(
        key=None,
        written=0,
        skipped=0,
        warnings=[],
        user_errors=[UserError(code=code, message=message, key=key)],
    )


async def store_site_kpi(
    info: Info[Context, None],
    site: Annotated[str, strawberry.argument(description="Site key.")],
    kpi: SiteKpiName,
    from_: Annotated[datetime, strawberry.argument(name="from")],
    to: datetime,
    every: str,
    timezone: str | None = None,
    key: Annotated[
        str | None,
        strawberry.argument(description="Target series; default site:{site}:{kpi}:{every}."),
    ] = None,
    resolution: str = "PT15M",
    emission_factors: EmissionFactorFamily = EmissionFactorFamily.LIFECYCLE,
) -> StoreKpiResult:
    """Compute one KPI per bucket and write it to a KPI series through the ingest write path
    (`db.samples.write_samples`, last write wins, so recomputing is idempotent)."""
    ctx = info.context
    start, end, family = from_, to, emission_factors
    record_site = await db_sites.fetch_site(ctx.database, site)
    if record_site is None:
        return _rejected(UserErrorCode.UNKNOWN_SITE, "no site with this key", site)
    target = key or f"site:{record_site.key}:{kpi.value}:{every.strip().upper()}"
    if not valid_key(target):
        return _rejected(UserErrorCode.BAD_USER_INPUT, "invalid `key` for the KPI series", target)
    existing = await ctx.loaders.series_by_key.load(target)
    # A platform series of that key is shadowed by the tenant's own KPI series (db/tenancy.py).
    if existing is not None and tenancy.owns(existing.tenant) and existing.kind != "KPI":
        return _rejected(
            UserErrorCode.NOT_A_KPI_SERIES, "the target series exists and is not a KPI", target
        )
    try:
        result = await site_kpis(
            info,
            record_site,
            start=start,
            end=end,
            every=every,
            timezone=timezone,
            resolution=resolution,
            family=family,
        )
    except (InvalidArgument, BudgetExceeded, NotFound, CostLimited) as exc:
        # The read's refusals, as the query would give them (the codes say which).
        return _rejected(as_user_error(exc.code), str(exc))
    record = await db_series.upsert_series(
        ctx.database,
        db_series.SeriesValues(
            key=target,
            kind="KPI",
            unit=KPI_UNITS[kpi.value],
            name=f"{record_site.name}: {kpi.value.replace('_', ' ')} per {result.every}",
            timezone=result.timezone,
            resolution=result.every,
            labels={"site": record_site.key, "kpi": kpi.value, "every": result.every},
            source="gateway:kpi",
        ),
    )
    ctx.loaders.prime(record)
    starts, values = [], []
    for bucket in result.buckets:
        value = getattr(bucket, kpi.value)
        if value is not None:
            starts.append(bucket.start)
            values.append(float(value))
    batch = db_samples.SampleBatch(
        record.id, db_samples.micros_from_datetimes(starts), np.asarray(values, dtype=np.float64)
    )
    try:
        await db_samples.write_samples(ctx.database, [batch], db_samples.Conflict.UPDATE)
    finally:  # also when it failed: it may have committed first
        written = db_samples.written_windows([batch])
        await ctx.written([(w.series_id, w.start, w.end) for w in written])
    return StoreKpiResult(
        key=target,
        written=len(starts),
        skipped=len(result.buckets) - len(starts),
        warnings=result.warnings,
        user_errors=[],
    )
