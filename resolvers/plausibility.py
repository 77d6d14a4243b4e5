"""The plausibility rules as one table, and the functions that apply them.

A range rule gives a WARNING outside its plausible bounds and an ERROR outside its hard bounds
(the ERROR wins); an event rule has one level and fires when its event happened. Values are
never scaled or clamped: a warning says what is odd. docs/plausibility.md shows this table
(`python -m resolvers.plausibility` prints it; tests/test_docs.py keeps the two equal).

Every read applies a rule at the rule's grain: a price rule sees the lowest and the highest
stored price interval of each bucket, so one extreme hour cannot hide in a daily mean.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

from resolvers.codes import WarningCode
from resolvers.kpi_types import KpiWarning, WarningLevel

__all__ = [
    "EVENT_RULES",
    "RANGE_RULES",
    "Grain",
    "Reported",
    "Rule",
    "check",
    "check_columns",
    "check_extremes",
    "coverage_warnings",
    "event",
]

Bounds = tuple[float, float]
_INF = math.inf
_RANGE_MESSAGE = "{what} {value:.4g} is outside [{low:g}, {high:g}]"
_COVERAGE_MESSAGE = "{quantity}: data cover {value:.1%} of {where}; the value is not scaled up"


class Grain(enum.StrEnum):
    """What one checked value stands for."""

    INTERVAL = "each stored interval"  # a sample over its own interval (a price hour)
    STEP = "each KPI step"  # the `resolution` grid of site KPIs
    BUCKET = "bucket value"  # the value the result reports per bucket (and in total)
    PERIOD = "whole period"  # the total over [from, to)


class Reported(enum.StrEnum):
    """Where a warning is attached: `bucket` index, or null for the total."""

    BUCKET_AND_TOTAL = "bucket, total"
    BUCKET = "bucket"
    TOTAL = "total"


@dataclass(frozen=True)
class Rule:
    code: WarningCode
    endpoint: str  # the reads that apply it (docs)
    quantity: str  # `KpiWarning.quantity`; "" when the caller names it (coverage per series)
    what: str  # the checked value and its unit, for the message and the docs
    grain: Grain
    reported: Reported
    when: str  # the condition under which the read applies it (docs)
    source: str  # where the bounds come from (docs/plausibility.md#sources)
    plausible: Bounds | None = None  # WARNING outside (range rules)
    hard: Bounds | None = None  # ERROR outside (range rules)
    level: WarningLevel | None = None  # the one level of an event rule
    message: str = _RANGE_MESSAGE

    def judge(self, value: float) -> tuple[WarningLevel, Bounds] | None:
        if self.hard is not None and not self.hard[0] <= value <= self.hard[1]:
            return WarningLevel.ERROR, self.hard
        if self.plausible is not None and not self.plausible[0] <= value <= self.plausible[1]:
            return WarningLevel.WARNING, self.plausible
        return None


def _coverage(code: WarningCode, endpoint: str, quantity: str, what: str, when: str) -> Rule:
    # Above 1 is never flagged: coverage is a ratio of seconds and may round past it.
    return Rule(
        code, endpoint, quantity, what, Grain.BUCKET, Reported.BUCKET_AND_TOTAL, when,
        "estimate", plausible=(0.95, _INF), hard=(0.90, _INF), message=_COVERAGE_MESSAGE,
    )  # fmt: skip


KPIS = "`Site.kpis`"
SDAC = "SDAC limits [EXAA] [SEMO]"
COVERAGE = _coverage(
    WarningCode.LOW_COVERAGE,
    "`energy`, `Site.kpis` (per role series), `marketPrice`, `gridIntensity`",
    "",
    "coverage (share of time with data)",
    "always",
)
PRICE_COVERAGE = _coverage(
    WarningCode.MISSING_PRICE, KPIS, "price", "price coverage", "DYNAMIC tariff"
)
INTENSITY_COVERAGE = _coverage(
    WarningCode.MISSING_INTENSITY, KPIS, "co2", "intensity coverage", "an intensity source exists"
)
SELF_CONSUMPTION_RATE = Rule(
    WarningCode.RATIO_OUT_OF_RANGE, KPIS, "selfConsumptionRate", "selfConsumptionRate",
    Grain.BUCKET, Reported.BUCKET_AND_TOTAL, "G > 0", "definition", hard=(0.0, 1.0),
)  # fmt: skip
AUTARKY_RATIO = Rule(
    WarningCode.RATIO_OUT_OF_RANGE, KPIS, "autarky", "autarky",
    Grain.BUCKET, Reported.BUCKET_AND_TOTAL, "L > 0", "definition", hard=(0.0, 1.0),
)  # fmt: skip
BALANCE = Rule(
    WarningCode.BALANCE_RESIDUAL, KPIS, "balance", "energy balance residual (G+I+D-L-E-C)/L",
    Grain.BUCKET, Reported.BUCKET_AND_TOTAL, "load and grid both measured, L > 0", "estimate",
    plausible=(-0.02, 0.02), hard=(-0.05, 0.05),
)  # fmt: skip
PV_RATING = Rule(
    WarningCode.PV_ABOVE_RATING, KPIS, "production", "PV step power / kWp",
    Grain.STEP, Reported.BUCKET_AND_TOTAL, "`pvPeakKw` set", "estimate", plausible=(-0.02, 1.1),
)  # fmt: skip
PEAK_LOAD = Rule(
    WarningCode.PEAK_LOAD_HIGH, KPIS, "consumption", "peak step load (kW)",
    Grain.STEP, Reported.BUCKET_AND_TOTAL, "always", "estimate", plausible=(-_INF, 30.0),
)  # fmt: skip
SITE_PRICE = Rule(
    WarningCode.PRICE_OUT_OF_RANGE, KPIS, "price", "day-ahead price (EUR/MWh)",
    Grain.INTERVAL, Reported.BUCKET_AND_TOTAL, "DYNAMIC tariff", SDAC,
    plausible=(-100.0, 400.0), hard=(-500.0, 4000.0),
)  # fmt: skip
MARKET_PRICE = Rule(
    WarningCode.PRICE_OUT_OF_RANGE, "`marketPrice`", "price", "day-ahead price (EUR/MWh)",
    Grain.INTERVAL, Reported.BUCKET, "always", SDAC,
    plausible=(-100.0, 400.0), hard=(-500.0, 4000.0),
)  # fmt: skip
# Hourly CI from SMARD: < 0 or above pure lignite (about 1,100-1,150 g/kWh) is an error.
SITE_INTENSITY = Rule(
    WarningCode.INTENSITY_OUT_OF_RANGE, KPIS, "co2", "grid intensity (g/kWh)",
    Grain.STEP, Reported.BUCKET_AND_TOTAL, "an intensity source exists",
    "derived from the factors (pure lignite ≈ 1,100–1,150)",
    plausible=(50.0, 800.0), hard=(0.0, 1150.0),
)  # fmt: skip
MARKET_INTENSITY = Rule(
    WarningCode.INTENSITY_OUT_OF_RANGE, "`gridIntensity`", "intensity", "grid intensity (g/kWh)",
    Grain.BUCKET, Reported.BUCKET_AND_TOTAL, "always", "derived from the factors",
    plausible=(50.0, 800.0), hard=(0.0, 1150.0),
)  # fmt: skip
IMPORT_PRICE = Rule(
    WarningCode.IMPORT_PRICE_IMPLAUSIBLE, KPIS, "importCost",
    "average import price paid (ct/kWh)", Grain.PERIOD, Reported.TOTAL, "some import priced",
    "household prices 25–45 ct [FINANZTIP] + estimate", plausible=(15.0, 60.0), hard=(0.0, _INF),
)  # fmt: skip
FEED_IN = Rule(
    WarningCode.FEED_IN_IMPLAUSIBLE, KPIS, "feedInRevenue", "feed-in tariff (ct/kWh)",
    Grain.PERIOD, Reported.TOTAL, "always", "EEG tariffs 7.9–8.2 ct [EEG-TARIFF] + estimate",
    plausible=(0.0, 60.0),
)  # fmt: skip
CONSUMPTION = Rule(
    WarningCode.CONSUMPTION_IMPLAUSIBLE, KPIS, "consumption",
    "annualised consumption (kWh/yr)", Grain.PERIOD, Reported.TOTAL, "period ≥ 28 days",
    "household consumption [BDEW] + estimate", plausible=(800.0, 10_000.0), hard=(0.0, _INF),
)  # fmt: skip
CO2 = Rule(
    WarningCode.CO2_IMPLAUSIBLE, KPIS, "co2Import", "annualised CO2 of imports (t/yr)",
    Grain.PERIOD, Reported.TOTAL, "period ≥ 28 days, CO2 known",
    "consumption × 363 g/kWh [KNLV]", plausible=(0.0, 5.0), hard=(0.0, _INF),
)  # fmt: skip
BATTERY_EFFICIENCY = Rule(
    WarningCode.BATTERY_EFFICIENCY_IMPLAUSIBLE, KPIS, "battery",
    "battery round-trip efficiency (discharge / charge)", Grain.PERIOD, Reported.TOTAL,
    "period ≥ 28 days, battery, ΣC > 0", "estimate", plausible=(0.7, 1.0), hard=(0.0, 1.05),
)  # fmt: skip
PV_YIELD = Rule(
    WarningCode.PV_YIELD_IMPLAUSIBLE, KPIS, "production", "PV specific yield (kWh/kWp/yr)",
    Grain.PERIOD, Reported.TOTAL, "period ≥ 365 days, `pvPeakKw` set",
    "measured rooftop fleet 816–1,049 [TEHEESEN-2019] + estimate",
    plausible=(650.0, 1300.0), hard=(0.0, 1500.0),
)  # fmt: skip
AUTARKY = Rule(
    WarningCode.AUTARKY_IMPLAUSIBLE, KPIS, "autarky", "yearly autarky with a battery",
    Grain.PERIOD, Reported.TOTAL, "period ≥ 365 days, battery", "50–85 % typical [42WATT]",
    plausible=(0.0, 0.95),
)  # fmt: skip

NEGATIVE_LOAD = Rule(
    WarningCode.NEGATIVE_LOAD, KPIS, "consumption", "steps with L < 0", Grain.STEP,
    Reported.BUCKET_AND_TOTAL,
    "no load series and the balance gives L < 0 in some step; `value` is the number of steps",
    "definition", level=WarningLevel.ERROR,
)  # fmt: skip
NO_INTENSITY = Rule(
    WarningCode.MISSING_INTENSITY, KPIS, "co2", "grid intensity", Grain.PERIOD, Reported.TOTAL,
    "neither a fixed `co2Intensity` nor any SMARD generation series of the site's region: "
    "CO2 is null", "definition", level=WarningLevel.ERROR,
)  # fmt: skip
MISSING_FUEL = Rule(
    WarningCode.MISSING_FUEL, "`gridIntensity`, `Site.kpis`", "intensity", "fuels",
    Grain.PERIOD, Reported.TOTAL,
    "a fuel of the factor family has no generation series; it is left out",
    "definition", level=WarningLevel.WARNING,
)  # fmt: skip
METER_RESET = Rule(
    WarningCode.METER_RESET, "`energy`", "energy", "reset(s): counted from 0",
    Grain.INTERVAL, Reported.TOTAL,
    "a register fell below 90 % of the previous reading (counted from 0)",
    "definition", level=WarningLevel.WARNING,
)  # fmt: skip
METER_ROLLOVER = Rule(
    WarningCode.METER_ROLLOVER, "`energy`", "energy", "rollover(s) at the modulus",
    Grain.INTERVAL, Reported.TOTAL, "a register wrapped at its modulus",
    "definition", level=WarningLevel.WARNING,
)  # fmt: skip
METER_DIP = Rule(
    WarningCode.METER_DIP, "`energy`", "energy", "dip(s) ignored, baseline kept",
    Grain.INTERVAL, Reported.TOTAL,
    "a register fell by less than 10 % (counted as 0, baseline kept)",
    "definition", level=WarningLevel.WARNING,
)  # fmt: skip

RANGE_RULES: tuple[Rule, ...] = (
    COVERAGE, PRICE_COVERAGE, INTENSITY_COVERAGE, SELF_CONSUMPTION_RATE, AUTARKY_RATIO,
    BALANCE, PV_RATING, PEAK_LOAD, SITE_PRICE, MARKET_PRICE, SITE_INTENSITY, MARKET_INTENSITY,
    IMPORT_PRICE, FEED_IN, CONSUMPTION, CO2, BATTERY_EFFICIENCY, PV_YIELD, AUTARKY,
)  # fmt: skip
EVENT_RULES: tuple[Rule, ...] = (
    NEGATIVE_LOAD, NO_INTENSITY, MISSING_FUEL, METER_RESET, METER_ROLLOVER, METER_DIP,
)  # fmt: skip


def check(
    rule: Rule, value: float | None, bucket: int | None = None, *, quantity: str | None = None
) -> KpiWarning | None:
    """The warning `rule` gives for `value` (None passes); `bucket` None means the total."""
    assert rule.level is None, f"{rule.code} is an event rule"
    if value is None or (judged := rule.judge(value)) is None:
        return None
    level, (low, high) = judged
    name = quantity or rule.quantity
    where = "the total" if bucket is None else f"bucket {bucket}"
    message = rule.message.format(
        what=rule.what, quantity=name, value=value, low=low, high=high, where=where
    )
    return KpiWarning(
        code=rule.code, level=level, message=message, quantity=name, bucket=bucket, value=value
    )


def check_columns(
    rule: Rule,
    buckets: Sequence[float | None],
    total: float | None = None,
    *,
    quantity: str | None = None,
) -> list[KpiWarning]:
    """`rule` over a result's bucket column, then its total when the rule reports one."""
    indexed: list[tuple[int | None, float | None]] = list(enumerate(buckets))
    if rule.reported is Reported.BUCKET_AND_TOTAL:
        indexed.append((None, total))
    found = (check(rule, value, index, quantity=quantity) for index, value in indexed)
    return [w for w in found if w is not None]


def check_extremes(
    rule: Rule, low: float | None, high: float | None, bucket: int | None
) -> list[KpiWarning]:
    """`rule` on the lowest and the highest value of a bucket, once when they are equal."""
    values = [low] if low == high else [low, high]
    found = (check(rule, value, bucket) for value in values)
    return [w for w in found if w is not None]


def coverage_warnings(
    coverage: Sequence[float], total: float, quantity: str, rule: Rule = COVERAGE
) -> list[KpiWarning]:
    """A coverage rule per bucket and for the total: below 95 % a WARNING, below 90 % an ERROR."""
    return check_columns(rule, coverage, total, quantity=quantity)


def event(
    rule: Rule,
    message: str,
    *,
    bucket: int | None = None,
    value: float | None = None,
    quantity: str | None = None,
) -> KpiWarning:
    """The warning of an event rule, at its one level."""
    assert rule.level is not None, f"{rule.code} is a range rule"
    return KpiWarning(
        code=rule.code,
        level=rule.level,
        message=message,
        quantity=quantity or rule.quantity,
        bucket=bucket,
        value=value,
    )


def _bounds(value: Bounds | None) -> str:
    return "-" if value is None else f"[{value[0]:g}, {value[1]:g}]"


def markdown_tables() -> str:
    """The range and event tables of docs/plausibility.md."""
    lines = [
        "| code | endpoint | checked value | grain | reported per | applies when "
        "| WARNING outside | ERROR outside | source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in RANGE_RULES:
        lines.append(
            f"| `{r.code}` | {r.endpoint} | {r.what} | {r.grain} | {r.reported} | {r.when} "
            f"| {_bounds(r.plausible)} | {_bounds(r.hard)} | {r.source} |"
        )
    lines += [
        "",
        "| code | endpoint | level | grain | reported per | raised when |",
        "|---|---|---|---|---|---|",
    ]
    for r in EVENT_RULES:
        assert r.level is not None
        lines.append(
            f"| `{r.code}` | {r.endpoint} | {r.level.value} | {r.grain} | {r.reported} | {r.when} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_tables(), end="")
