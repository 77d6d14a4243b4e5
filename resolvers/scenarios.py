"""Scenarios: `upsertScenario`, `scenario(key)`, the service's `claimScenario` and
`finishScenario`, and sizing sweeps (docs/scenarios.md).

The gateway stores inputs and state only; the scenario service computes, writes the result
series through `ingest` and the scenario's own site `scenario:<key>` through `upsertSite`,
so its KPIs come from the same code as a real site's.
"""

from __future__ import annotations

import enum
import math
from datetime import datetime, timedelta
from typing import Any

import strawberry
from strawberry.types import Info

from db import scenarios as db_scenarios, sites as db_sites
from db.scenarios import ScenarioRecord, ScenarioValues, SweepRecord
from db.sites import SiteRecord
from resolvers.arguments import check_key, check_read_range
from resolvers.codes import UserErrorCode, as_user_error
from resolvers.context import Context
from resolvers.errors import GatewayError
from resolvers.sites import InvalidInput, Site, Tariff, TariffInput, TariffKind, check_tariff
from resolvers.types import UserError

__all__ = [
    "FinishScenarioResult",
    "Scenario",
    "ScenarioInput",
    "Sweep",
    "SweepInput",
    "UpsertScenarioResult",
    "claim_scenario",
    "finish_scenario",
    "get_scenario",
    "get_sweep",
    "scenario_site_key",
    "upsert_scenario",
    "upsert_sweep",
]

MAX_KEY_LENGTH = 150  # leaves room for "scenario:<key>:battery_discharge" within 200
MAX_PERIOD = timedelta(days=370)
MAX_SWEEP_CELLS = 2500  # a 50 x 50 grid


def scenario_site_key(key: str) -> str:
    return f"scenario:{key}"


@strawberry.enum(description="How the battery is dispatched.")
class ScenarioStrategy(enum.Enum):
    SELF_CONSUMPTION = strawberry.enum_value(
        "SELF_CONSUMPTION",
        description="Greedy: surplus PV charges, deficits discharge; never from the grid.",
    )
    COST_OPTIMAL = strawberry.enum_value(
        "COST_OPTIMAL",
        description="Linear program (HiGHS) over the dynamic import price with perfect "
        "foresight of the period; final SoC >= initial SoC. Needs a DYNAMIC tariff.",
    )


@strawberry.enum
class ScenarioStatus(enum.Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


@strawberry.enum(description="How a claimed computation ended.")
class ScenarioOutcome(enum.Enum):
    DONE = "DONE"
    FAILED = "FAILED"


@strawberry.input(description="A battery; SoC values are fractions of the usable capacity.")
class BatteryInput:
    capacity_kwh: float
    power_kw: float = strawberry.field(description="Charge and discharge limit (AC side).")
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    min_soc: float = 0.0
    initial_soc: float | None = strawberry.field(default=None, description="Default: minSoc.")


@strawberry.type
class ScenarioBattery:
    capacity_kwh: float
    power_kw: float
    charge_efficiency: float
    discharge_efficiency: float
    min_soc: float
    initial_soc: float


@strawberry.input(
    description="A what-if scenario on a real site's history: new PV size, a battery, a "
    "dispatch strategy and optionally another tariff."
)
class ScenarioInput:
    key: str
    site: str = strawberry.field(description="The real site the scenario derives from.")
    from_: datetime = strawberry.field(name="from", description="Inclusive start.")
    to: datetime = strawberry.field(description="Exclusive end (at most 370 days later).")
    pv_kwp: float | None = strawberry.field(
        default=None,
        description="New total PV size: scales the site's PV by pvKwp / pvPeakKw, or uses a "
        "clear-sky profile of the site's PV settings when it has no PV. Null: PV as is.",
    )
    battery: BatteryInput | None = None
    strategy: ScenarioStrategy = ScenarioStrategy.SELF_CONSUMPTION
    tariff: TariffInput | None = strawberry.field(
        default=None, description="Tariff override; default: the site's tariff."
    )


def _tariff(data: dict[str, Any]) -> Tariff:
    return Tariff(
        kind=TariffKind(data["kind"]),
        import_price_ct=data.get("import_price_ct"),
        feed_in_ct=data.get("feed_in_ct", 0.0),
        price_series=data.get("price_series"),
        surcharges_ct=data.get("surcharges_ct"),
        vat=data.get("vat"),
    )


@strawberry.type(description="A what-if scenario and the state of its computation.")
class Scenario:
    record: strawberry.Private[ScenarioRecord]

    @strawberry.field
    def key(self) -> str:
        return self.record.key

    @strawberry.field(description="Key of the real site the scenario derives from.")
    def base_site_key(self) -> str:
        return self.record.site_key

    @strawberry.field(description="The real site the scenario derives from.")
    async def base_site(self, info: Info[Context, None]) -> Site | None:
        record = await db_sites.fetch_site(info.context.database, self.record.site_key)
        return Site(record=record) if record is not None else None

    @strawberry.field(name="from")
    def from_(self) -> datetime:
        return self.record.period_from

    @strawberry.field
    def to(self) -> datetime:
        return self.record.period_to

    @strawberry.field
    def pv_kwp(self) -> float | None:
        return self.record.pv_kwp

    @strawberry.field
    def battery(self) -> ScenarioBattery | None:
        b = self.record.battery
        return ScenarioBattery(**b) if b is not None else None

    @strawberry.field
    def strategy(self) -> ScenarioStrategy:
        return ScenarioStrategy[self.record.strategy]

    @strawberry.field(description="The tariff override; null: the base site's tariff.")
    def tariff(self) -> Tariff | None:
        return _tariff(dict(self.record.tariff)) if self.record.tariff is not None else None

    @strawberry.field
    def status(self) -> ScenarioStatus:
        return ScenarioStatus(self.record.status)

    @strawberry.field(description="Why the computation failed (FAILED only).")
    def message(self) -> str | None:
        return self.record.message

    @strawberry.field(description="Increases with every change of the inputs.")
    def revision(self) -> int:
        return self.record.revision

    @strawberry.field
    def updated_at(self) -> datetime:
        return self.record.updated_at

    @strawberry.field
    def finished_at(self) -> datetime | None:
        return self.record.finished_at

    @strawberry.field(
        description="The scenario's own site `scenario:<key>` (its result series by role and "
        "the tariff that applies); query its `kpis` like any site. Null until DONE."
    )
    async def site(self, info: Info[Context, None]) -> Site | None:
        if self.record.status != "DONE":
            return None
        record = await db_sites.fetch_site(
            info.context.database, scenario_site_key(self.record.key)
        )
        return Site(record=record) if record is not None else None


@strawberry.type
class UpsertScenarioResult:
    scenario: Scenario | None
    user_errors: list[UserError]


@strawberry.type
class FinishScenarioResult:
    scenario: Scenario | None
    user_errors: list[UserError]


def _battery(value: BatteryInput | None) -> dict[str, float] | None:
    if value is None:
        return None
    numbers = {
        "capacityKwh": value.capacity_kwh,
        "powerKw": value.power_kw,
        "chargeEfficiency": value.charge_efficiency,
        "dischargeEfficiency": value.discharge_efficiency,
        "minSoc": value.min_soc,
        "initialSoc": value.initial_soc,
    }
    for name, number in numbers.items():
        if number is not None and not math.isfinite(number):
            raise InvalidInput(
                f"battery `{name}` must be finite", code=UserErrorCode.INVALID_BATTERY
            )
    if not value.capacity_kwh > 0:
        raise InvalidInput(
            "battery `capacityKwh` must be > 0 (omit `battery` for none)",
            code=UserErrorCode.INVALID_BATTERY,
        )
    if not value.power_kw > 0:
        raise InvalidInput(
            "battery `powerKw` must be > 0 for a battery with capacity",
            code=UserErrorCode.INVALID_BATTERY,
        )
    for name, eta in (
        ("chargeEfficiency", value.charge_efficiency),
        ("dischargeEfficiency", value.discharge_efficiency),
    ):
        if not 0 < eta <= 1:
            raise InvalidInput(
                f"battery `{name}` must lie in (0, 1]", code=UserErrorCode.INVALID_BATTERY
            )
    if not 0 <= value.min_soc < 1:
        raise InvalidInput(
            "battery `minSoc` must lie in [0, 1)", code=UserErrorCode.INVALID_BATTERY
        )
    initial = value.min_soc if value.initial_soc is None else value.initial_soc
    if not value.min_soc <= initial <= 1:
        raise InvalidInput(
            "battery `initialSoc` must lie in [minSoc, 1]", code=UserErrorCode.INVALID_BATTERY
        )
    return {
        "capacity_kwh": value.capacity_kwh,
        "power_kw": value.power_kw,
        "charge_efficiency": value.charge_efficiency,
        "discharge_efficiency": value.discharge_efficiency,
        "min_soc": value.min_soc,
        "initial_soc": initial,
    }


def _tariff_data(value: TariffInput) -> dict[str, Any]:
    check_tariff(value)
    dynamic = value.kind is TariffKind.DYNAMIC
    return {
        "kind": value.kind.value,
        "import_price_ct": None if dynamic else value.import_price_ct,
        "feed_in_ct": value.feed_in_ct,
        "price_series": value.price_series if dynamic else None,
        "surcharges_ct": value.surcharges_ct if dynamic else None,
        "vat": value.vat if dynamic else None,
    }


def _values(value: ScenarioInput) -> ScenarioValues:
    """Field checks that need no database; raises InvalidInput."""
    try:
        check_key(value.key)
        check_read_range(value.from_, value.to)
    except GatewayError as exc:
        raise InvalidInput(str(exc), code=exc.code) from None
    if len(value.key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"a scenario key has at most {MAX_KEY_LENGTH} characters",
            code=UserErrorCode.BAD_USER_INPUT,
        )
    if value.to - value.from_ > MAX_PERIOD:
        raise InvalidInput("a scenario covers at most 370 days", code=UserErrorCode.INVALID_RANGE)
    if value.pv_kwp is not None and not (math.isfinite(value.pv_kwp) and value.pv_kwp >= 0):
        raise InvalidInput(
            "`pvKwp` must be a finite number >= 0", code=UserErrorCode.INVALID_SCENARIO
        )
    return ScenarioValues(
        key=value.key,
        site_key=value.site,
        period_from=value.from_,
        period_to=value.to,
        strategy=value.strategy.name,
        pv_kwp=value.pv_kwp,
        battery=_battery(value.battery),
        tariff=_tariff_data(value.tariff) if value.tariff is not None else None,
    )


def _site_errors(values: ScenarioValues, site: SiteRecord | None) -> list[UserError]:
    if site is None:
        return [
            UserError(
                code=UserErrorCode.UNKNOWN_SITE,
                message="no site with this key",
                key=values.site_key,
            )
        ]
    if site.key.startswith("scenario:"):
        return [
            UserError(
                code=UserErrorCode.INVALID_SCENARIO,
                message="a scenario derives from a real site, not from another scenario",
                key=site.key,
            )
        ]
    errors = []
    kind = values.tariff["kind"] if values.tariff is not None else site.tariff
    if values.strategy == ScenarioStrategy.COST_OPTIMAL.name and kind != "DYNAMIC":
        errors.append(
            UserError(
                code=UserErrorCode.INVALID_STRATEGY,
                message="COST_OPTIMAL optimises over a dynamic import price; the tariff is FIXED",
            )
        )
    if values.pv_kwp is not None and values.pv_kwp > 0:
        if site.pv is not None and site.pv_peak_kw is None:
            errors.append(
                UserError(
                    code=UserErrorCode.INVALID_SCENARIO,
                    message="the site's `pvPeakKw` is needed to scale its PV to `pvKwp`",
                    key=site.key,
                )
            )
        if site.pv is None and (site.latitude is None or site.longitude is None):
            errors.append(
                UserError(
                    code=UserErrorCode.INVALID_SCENARIO,
                    message="the site has no PV: its `latitude` and `longitude` are needed for "
                    "a clear-sky PV profile",
                    key=site.key,
                )
            )
    return errors


async def upsert_scenario(info: Info[Context, None], input: ScenarioInput) -> UpsertScenarioResult:
    try:
        values = _values(input)
    except InvalidInput as exc:
        return UpsertScenarioResult(
            scenario=None, user_errors=[UserError(code=as_user_error(exc.code), message=str(exc))]
        )
    database = info.context.database
    errors = _site_errors(values, await db_sites.fetch_site(database, values.site_key))
    price = values.tariff.get("price_series") if values.tariff is not None else None
    if price is not None:
        series = await info.context.loaders.series_by_key.load(price)
        if series is None or series.kind != "PRICE" or series.unit != "EUR/MWh":
            errors.append(
                UserError(
                    code=UserErrorCode.UNSUPPORTED_SERIES,
                    message="the price series must be a PRICE series in EUR/MWh",
                    key=price,
                )
            )
    if errors:
        return UpsertScenarioResult(scenario=None, user_errors=errors)
    record = await db_scenarios.upsert_scenario(database, values)
    return UpsertScenarioResult(scenario=Scenario(record=record), user_errors=[])


async def get_scenario(info: Info[Context, None], key: str) -> Scenario | None:
    record = await db_scenarios.fetch_scenario(info.context.database, key)
    return Scenario(record=record) if record is not None else None


async def claim_scenario(
    info: Info[Context, None], worker: str, lease_seconds: float = 900.0
) -> Scenario | None:
    if not (0 < len(worker) <= 200):
        raise InvalidInput("`worker` must be 1-200 characters", code=UserErrorCode.BAD_USER_INPUT)
    if not (math.isfinite(lease_seconds) and lease_seconds >= 10):
        raise InvalidInput("`leaseSeconds` must be >= 10", code=UserErrorCode.BAD_USER_INPUT)
    record = await db_scenarios.claim_scenario(
        info.context.database, worker=worker, lease_seconds=lease_seconds
    )
    return Scenario(record=record) if record is not None else None


async def finish_scenario(
    info: Info[Context, None],
    key: str,
    revision: int,
    outcome: ScenarioOutcome,
    message: str | None = None,
) -> FinishScenarioResult:
    record = await db_scenarios.finish_scenario(
        info.context.database,
        key=key,
        revision=revision,
        status=outcome.value,
        message=message[:2000] if message is not None else None,
    )
    if record is None:
        return FinishScenarioResult(
            scenario=None,
            user_errors=[
                UserError(
                    code=UserErrorCode.STALE_CLAIM,
                    message="this revision is not RUNNING any more (changed or reclaimed)",
                    key=key,
                )
            ],
        )
    return FinishScenarioResult(scenario=Scenario(record=record), user_errors=[])


@strawberry.input
class SweepCellInput:
    pv_kwp: float
    battery_kwh: float
    autarky: float | None
    self_consumption_rate: float | None
    yearly_savings_eur: float | None
    investment_eur: float
    payback_years: float | None


@strawberry.type(description="One PV x battery size of a sweep, with its KPIs.")
class SweepCell:
    pv_kwp: float
    battery_kwh: float
    autarky: float | None
    self_consumption_rate: float | None
    yearly_savings_eur: float | None = strawberry.field(
        description="Grid cost today minus grid cost with this system, per year."
    )
    investment_eur: float = strawberry.field(
        description="Added PV kWp x cost per kWp + battery kWh x cost per kWh."
    )
    payback_years: float | None = strawberry.field(
        description="investment / yearly savings; null when savings <= 0."
    )


@strawberry.input
class SweepInput:
    key: str
    site: str
    from_: datetime = strawberry.field(name="from")
    to: datetime
    cells: list[SweepCellInput]


@strawberry.type(description="A PV x battery sizing sweep of one site and period.")
class Sweep:
    key: str
    site: str
    from_: datetime = strawberry.field(name="from")
    to: datetime
    cells: list[SweepCell]
    updated_at: datetime | None


@strawberry.type
class UpsertSweepResult:
    sweep: Sweep | None
    user_errors: list[UserError]


def _sweep(record: SweepRecord) -> Sweep:
    return Sweep(
        key=record.key,
        site=record.site_key,
        from_=record.period_from,
        to=record.period_to,
        cells=[SweepCell(**cell) for cell in record.cells],
        updated_at=record.updated_at,
    )


async def upsert_sweep(info: Info[Context, None], input: SweepInput) -> UpsertSweepResult:
    try:
        check_key(input.key)
        check_read_range(input.from_, input.to)
    except GatewayError as exc:
        return UpsertSweepResult(
            sweep=None, user_errors=[UserError(code=as_user_error(exc.code), message=str(exc))]
        )
    if await db_sites.fetch_site(info.context.database, input.site) is None:
        return UpsertSweepResult(
            sweep=None,
            user_errors=[
                UserError(code=UserErrorCode.UNKNOWN_SITE, message="no site", key=input.site)
            ],
        )
    if len(input.cells) > MAX_SWEEP_CELLS:
        return UpsertSweepResult(
            sweep=None,
            user_errors=[
                UserError(
                    code=UserErrorCode.BATCH_TOO_LARGE,
                    message=f"at most {MAX_SWEEP_CELLS} cells per sweep",
                )
            ],
        )
    cells = [vars(c) for c in input.cells]
    for cell in cells:
        if not all(v is None or math.isfinite(v) for v in cell.values()):
            return UpsertSweepResult(
                sweep=None,
                user_errors=[
                    UserError(code=UserErrorCode.NON_FINITE_VALUE, message="cells must be finite")
                ],
            )
    record = await db_scenarios.upsert_sweep(
        info.context.database,
        SweepRecord(
            key=input.key,
            site_key=input.site,
            period_from=input.from_,
            period_to=input.to,
            cells=cells,
        ),
    )
    return UpsertSweepResult(sweep=_sweep(record), user_errors=[])


async def get_sweep(info: Info[Context, None], key: str) -> Sweep | None:
    record = await db_scenarios.fetch_sweep(info.context.database, key)
    return _sweep(record) if record is not None else None
