"""Site KPIs in one SQL statement (docs/domain.md §3).

All flows are computed on a fine step grid (default 15 min, the finest common resolution of
meters and quarter-hour prices), then summed into the requested buckets:

1. each role series -> energy per step (`db.energy`: integration, register deltas, split at
   step edges; an hourly ENERGY value is spread evenly over its four quarter-hours);
2. price per step = time-weighted mean of the PRICE series over the step (a price holds for
   its own interval, so an hourly price applies to each of its quarter-hours and quarter-hour
   prices average into an hourly step); the lowest and highest price interval of each step are
   kept for the plausibility check;
3. grid intensity per step = sum(Gen_f x EF_f) / sum(Gen_f) of the SMARD generation series
   (or the site's fixed intensity);
4. per step: G, I, E, C, D, L (L from the balance `G + I + D - E - C` without a load series;
   I/E from the balance without a grid series), cost = I x p, baseline = L x p, feed-in = E x
   p_fit, CO2 = I x CI, avoided CO2 = (L - I) x CI;
5. per bucket and in total: sums; ratios from the sums (never averaged ratios).

Steps without a price or intensity contribute no cost or CO2 (and lower that coverage);
nothing is scaled up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text

from db.aggregate import bucket_end_expr, bucket_expr, bucket_params, grid_sql
from db.energy import Method, Source, energy_ctes, secs, source_params
from db.engine import Database
from db.intervals import BucketWidth
from db.market import intensity_ctes, intensity_params

__all__ = ["KpiPlan", "KpiRow", "fetch_site_kpis", "site_kpi_statement"]

_ROLE_PARTS = {
    # role -> (column for its positive part, column for its negative part)
    "pv": ("pv_pos", None),
    "load": ("load_pos", None),
    "grid_import": ("gi_pos", None),
    "grid_export": ("ge_pos", None),
    "grid": ("grid_pos", "grid_neg"),
    "battery_charge": ("bc_pos", None),
    "battery_discharge": ("bd_pos", None),
    "battery": ("bat_pos", "bat_neg"),
}


@dataclass(frozen=True)
class KpiPlan:
    roles: Mapping[str, Source]  # role -> source (series may repeat across roles)
    tariff: str  # FIXED | DYNAMIC
    import_price_ct: float | None
    feed_in_ct: float
    surcharges_ct: float | None
    vat: float | None
    price: Source | None  # DYNAMIC tariff
    intensity_fixed: float | None  # g/kWh
    intensity: Sequence[tuple[Source, float]]  # generation series and factor


@dataclass(frozen=True)
class KpiRow:
    start: datetime | None  # None: the total row
    end: datetime | None
    production: float
    consumption: float
    grid_import: float
    grid_export: float
    battery_charge: float
    battery_discharge: float
    import_cost: float | None
    baseline_cost: float | None
    feed_in_revenue: float
    co2_import: float | None
    co2_avoided: float | None
    length_s: float
    price_covered_s: float
    intensity_covered_s: float
    role_covered_s: dict[str, float]
    peak_load_kw: float | None
    peak_pv_kw: float | None
    negative_load_steps: int
    min_price: float | None
    max_price: float | None
    min_intensity: float | None
    max_intensity: float | None
    import_priced: float | None


def _role_columns(roles: Sequence[str]) -> str:
    cols = []
    for role in roles:
        pos, neg = _ROLE_PARTS[role]
        cols.append(f"sum(pos) FILTER (WHERE sid = :sid_{role}) AS {pos}")
        if neg is not None:
            cols.append(f"sum(neg) FILTER (WHERE sid = :sid_{role}) AS {neg}")
        cols.append(f"sum(covered_s) FILTER (WHERE sid = :sid_{role}) AS cov_{role}")
    return ",\n    ".join(cols)


def _flows(roles: Sequence[str]) -> dict[str, str]:
    """Expressions over `raw` for g, c, d, i, e, l (kWh per step, all >= 0 except a derived
    load, which is checked for being negative)."""
    has = set(roles).__contains__

    def part(col: str) -> str:
        return f"coalesce({col}, 0)"

    g = part("pv_pos") if has("pv") else "0"
    if has("battery"):
        c, d = part("bat_neg"), part("bat_pos")  # OpenEMS: + discharge, - charge
    else:
        c = part("bc_pos") if has("battery_charge") else "0"
        d = part("bd_pos") if has("battery_discharge") else "0"
    i = e = None
    if has("grid"):
        i, e = part("grid_pos"), part("grid_neg")  # OpenEMS: + import, - export
    elif has("grid_import") or has("grid_export"):
        i = part("gi_pos") if has("grid_import") else "0"
        e = part("ge_pos") if has("grid_export") else "0"
    if has("load"):
        load = part("load_pos")
    else:
        assert i is not None and e is not None
        load = f"({g} + {i} + {d} - {e} - {c})"
    if i is None or e is None:
        i = f"greatest({load} + {c} - {g} - {d}, 0)"
        e = f"greatest({g} + {d} - {load} - {c}, 0)"
    return {"g": g, "c": c, "d": d, "i": i, "e": e, "l": load}


def kpi_sql(
    plan: KpiPlan, step: BucketWidth, every: BucketWidth, timescaledb: bool
) -> tuple[str, list[str]]:
    roles = [r for r in _ROLE_PARTS if r in plan.roles]
    meters = any(s.method is Method.METER for s in plan.roles.values())
    ctes = [energy_ctes("r", step, timescaledb, "step", meters=meters)]
    if plan.price is not None:
        ctes.append(energy_ctes("p", step, timescaledb, "step", meters=False))
    if plan.intensity_fixed is None and plan.intensity:
        ctes.append(intensity_ctes("ci", step, timescaledb, "step"))
    f = _flows(roles)
    role_cov = "".join(f", coalesce(rs.cov_{r}, 0) AS cov_{r}" for r in roles)
    parts = "".join(f", rs.{col}" for r in roles for col in _ROLE_PARTS[r] if col is not None)
    if plan.price is not None:
        price_join = "LEFT JOIN p ON p.start = s.start"
        spot = "(p.pos - p.neg) * 3600 / nullif(p.covered_s, 0)"
        # Extremes of the price intervals themselves: an hour at 4,000 EUR/MWh stays visible
        # in a longer step (docs/plausibility.md).
        spot_low, spot_high = "p.low", "p.high"
        price_cov = "coalesce(p.covered_s, 0)"
    else:
        price_join, spot, price_cov = "", "CAST(NULL AS float8)", "s.len_s"
        spot_low = spot_high = "CAST(NULL AS float8)"
    if plan.intensity_fixed is not None:
        ci_join, ci, ci_cov = "", "CAST(:ci_fixed AS float8)", "s.len_s"
    elif plan.intensity:
        ci_join = "LEFT JOIN ci ON ci.start = s.start"
        ci = "ci.co2_g / nullif(ci.gen_kwh, 0)"
        ci_cov = "CASE WHEN ci.gen_kwh > 0 THEN ci.covered_s ELSE 0 END"
    else:
        ci_join, ci, ci_cov = "", "CAST(NULL AS float8)", "0"
    if plan.tariff == "DYNAMIC":
        p_imp = "(spot / 10 + CAST(:sur_ct AS float8)) * (1 + CAST(:vat AS float8)) / 100"
    else:
        p_imp = "CAST(:imp_ct AS float8) / 100"
    step_grid = grid_sql(step, timescaledb, param="step")
    length = secs(
        "least(g.start + CAST(:step AS interval), CAST(:to AS timestamptz)) "
        "- greatest(g.start, CAST(:from AS timestamptz))"
    )
    cov_sums = "".join(f", sum(cov_{r}) AS cov_{r}" for r in roles)
    bucket = bucket_expr("start", every, timescaledb)
    sql = f"""WITH {", ".join(ctes)},
steps AS (SELECT g.start, {length} AS len_s FROM ({step_grid}) AS g),
rs AS (
    SELECT start,
    {_role_columns(roles)}
    FROM r GROUP BY start
),
raw AS (
    SELECT s.start, s.len_s{parts}, {spot} AS spot, {spot_low} AS spot_low,
           {spot_high} AS spot_high, {price_cov} AS price_cov,
           {ci} AS ci, {ci_cov} AS ci_cov{role_cov}
    FROM steps s LEFT JOIN rs ON rs.start = s.start {price_join} {ci_join}
),
fl AS (
    SELECT start, len_s, spot, spot_low, spot_high, price_cov, ci, coalesce(ci_cov, 0) AS ci_cov{
        "".join(f", cov_{r}" for r in roles)
    },
           {f["g"]} AS g, {f["c"]} AS c, {f["d"]} AS d, {f["i"]} AS i, {f["e"]} AS e,
           {f["l"]} AS l
    FROM raw
),
kpi AS (
    SELECT *, {p_imp} AS p_imp, CAST(:fit_ct AS float8) / 100 AS p_fit FROM fl
),
agg AS (
    SELECT {bucket} AS b,
           sum(g) AS g, sum(l) AS l, sum(i) AS i, sum(e) AS e, sum(c) AS c, sum(d) AS d,
           sum(i * p_imp) AS cost, sum(l * p_imp) AS base, sum(e * p_fit) AS fit,
           sum(i * ci) / 1000 AS co2_imp, sum((l - i) * ci) / 1000 AS co2_av,
           sum(len_s) AS len_s, sum(price_cov) AS price_cov, sum(ci_cov) AS ci_cov,
           max(l) * 3600 / CAST(:step_s AS float8) AS peak_load_kw,
           max(g) * 3600 / CAST(:step_s AS float8) AS peak_pv_kw,
           count(*) FILTER (WHERE l < -1e-6) AS neg_load,
           min(spot_low) AS min_spot, max(spot_high) AS max_spot,
           min(ci) AS min_ci, max(ci) AS max_ci,
           sum(i) FILTER (WHERE p_imp IS NOT NULL) AS i_priced{cov_sums}
    FROM kpi GROUP BY ROLLUP (1)
)
SELECT b, {bucket_end_expr(every, "b")} AS end_, g, l, i, e, c, d, cost, base, fit,
       co2_imp, co2_av, len_s, price_cov, ci_cov, peak_load_kw, peak_pv_kw, neg_load,
       min_spot, max_spot, min_ci, max_ci, i_priced{"".join(f", cov_{r}" for r in roles)}
FROM agg ORDER BY b NULLS LAST"""
    return sql, roles


def site_kpi_statement(
    plan: KpiPlan,
    *,
    start: datetime,
    end: datetime,
    step: BucketWidth,
    every: BucketWidth,
    timezone: str,
    timescaledb: bool,
) -> tuple[str, dict[str, Any], list[str]]:
    """The site KPI statement, its bind parameters and the roles it reports coverage for
    (rendered in tests/db/sql/site_kpis*.sql)."""
    assert step.fixed is not None
    sql, roles = kpi_sql(plan, step, every, timescaledb)
    unique: dict[int, Source] = {s.series_id: s for s in plan.roles.values()}
    params = bucket_params(every, start=start, end=end, timezone=timezone)
    params |= {
        "step": step.fixed,
        "step_s": step.fixed.total_seconds(),
        "fit_ct": plan.feed_in_ct,
    }
    if plan.tariff == "DYNAMIC":
        params |= {"sur_ct": plan.surcharges_ct, "vat": plan.vat}
    else:
        params["imp_ct"] = plan.import_price_ct
    params.update(source_params("r", list(unique.values())))
    params.update({f"sid_{role}": s.series_id for role, s in plan.roles.items()})
    if plan.price is not None:
        params.update(source_params("p", [plan.price]))
    if plan.intensity_fixed is not None:
        params["ci_fixed"] = plan.intensity_fixed
    elif plan.intensity:
        params.update(intensity_params("ci", plan.intensity))
    return sql, params, roles


async def fetch_site_kpis(
    database: Database,
    plan: KpiPlan,
    *,
    start: datetime,
    end: datetime,
    step: BucketWidth,
    every: BucketWidth,
    timezone: str,
) -> list[KpiRow]:
    """One row per bucket, then the total row (start None)."""
    sql, params, roles = site_kpi_statement(
        plan,
        start=start,
        end=end,
        step=step,
        every=every,
        timezone=timezone,
        timescaledb=database.capabilities.timescaledb,
    )
    stmt = text(sql)
    async with database.connect() as conn:
        rows = (await conn.execute(stmt, params)).all()
    out = []
    for r in rows:
        m = r._mapping
        out.append(
            KpiRow(
                start=m["b"],
                end=m["end_"] if m["b"] is not None else None,
                production=m["g"] or 0.0,
                consumption=m["l"] or 0.0,
                grid_import=m["i"] or 0.0,
                grid_export=m["e"] or 0.0,
                battery_charge=m["c"] or 0.0,
                battery_discharge=m["d"] or 0.0,
                import_cost=m["cost"],
                baseline_cost=m["base"],
                feed_in_revenue=m["fit"] or 0.0,
                co2_import=m["co2_imp"],
                co2_avoided=m["co2_av"],
                length_s=m["len_s"] or 0.0,
                price_covered_s=m["price_cov"] or 0.0,
                intensity_covered_s=m["ci_cov"] or 0.0,
                role_covered_s={role: m[f"cov_{role}"] or 0.0 for role in roles},
                peak_load_kw=m["peak_load_kw"],
                peak_pv_kw=m["peak_pv_kw"],
                negative_load_steps=int(m["neg_load"] or 0),
                min_price=m["min_spot"],
                max_price=m["max_spot"],
                min_intensity=m["min_ci"],
                max_intensity=m["max_ci"],
                import_priced=m["i_priced"],
            )
        )
    return out
