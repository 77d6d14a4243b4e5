"""Sites: `upsertSite`, `site(key)`, `sites`. A site names its series by role, its time zone
and its tariff; `Site.kpis` computes the KPIs (resolvers/kpis.py)."""

from __future__ import annotations

import enum
import math
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from db import energy as db_energy, sites as db_sites
from db.series import SeriesRecord
from db.sites import SiteRecord
from resolvers.arguments import From, check_key, check_timezone, json_object_problem
from resolvers.codes import UserErrorCode, as_user_error
from resolvers.context import Context
from resolvers.errors import GatewayError, InvalidArgument
from resolvers.kpis import SiteKpis, site_kpis
from resolvers.market import EmissionFactorFamily, check_region
from resolvers.scalars import JSON
from resolvers.types import UserError

__all__ = [
    "Site",
    "SiteInput",
    "TariffInput",
    "TariffKind",
    "UpsertSiteResult",
    "InvalidInput",
    "PvSystem",
    "Tariff",
    "check_tariff",
    "get_site",
    "list_sites",
    "upsert_site",
]


@strawberry.enum
class TariffKind(enum.Enum):
    FIXED = strawberry.enum_value("FIXED", description="A fixed gross import price.")
    DYNAMIC = strawberry.enum_value(
        "DYNAMIC",
        description="Import price per interval = (spot / 10 + surcharges) x (1 + VAT) ct/kWh.",
    )


@strawberry.type
class Tariff:
    kind: TariffKind
    import_price_ct: float | None = strawberry.field(description="FIXED: gross ct/kWh.")
    feed_in_ct: float = strawberry.field(description="Feed-in tariff, ct/kWh.")
    price_series: str | None = strawberry.field(description="DYNAMIC: PRICE series, EUR/MWh.")
    surcharges_ct: float | None = strawberry.field(
        description="DYNAMIC: net surcharges (grid fee, taxes, levies, margin), ct/kWh."
    )
    vat: float | None = strawberry.field(description="DYNAMIC: VAT as a fraction, e.g. 0.19.")


@strawberry.input
class TariffInput:
    kind: TariffKind
    import_price_ct: float | None = None
    feed_in_ct: float = 0.0
    price_series: str | None = None
    surcharges_ct: float | None = None
    vat: float | None = None


@strawberry.input(
    description="A site: series keys by role. Give the grid as `grid` (signed: + import, "
    "- export) or as `gridImport` + `gridExport`; the battery as `battery` (signed: + "
    "discharge, - charge) or `batteryCharge` + `batteryDischarge`. Without `load`, "
    "consumption comes from the balance G + I + D - E - C; without a grid series, import and "
    "export come from the balance. One of `load` and the grid is required."
)
class SiteInput:
    key: str
    tariff: TariffInput
    name: str | None = None
    timezone: str = "UTC"
    pv: str | None = None
    load: str | None = None
    grid_import: str | None = None
    grid_export: str | None = None
    grid: str | None = None
    battery_charge: str | None = None
    battery_discharge: str | None = None
    battery: str | None = None
    pv_peak_kw: float | None = strawberry.field(
        default=None,
        description="DC nameplate (kWp): plausibility checks, PV forecasts, scenario scaling.",
    )
    latitude: float | None = strawberry.field(
        default=None, description="PV location, degrees north (-90..90), for clear-sky profiles."
    )
    longitude: float | None = strawberry.field(
        default=None, description="PV location, degrees east (-180..180)."
    )
    tilt: float | None = strawberry.field(
        default=None, description="PV tilt, degrees from horizontal (0..90)."
    )
    azimuth: float | None = strawberry.field(
        default=None, description="PV azimuth, degrees clockwise from north (180 = south)."
    )
    co2_region: str = strawberry.field(
        default="DE", description="SMARD region of the generation series for grid intensity."
    )
    co2_intensity: float | None = strawberry.field(
        default=None,
        description="Fixed grid intensity in g/kWh (e.g. UBA annual factor) instead of SMARD.",
    )
    labels: JSON | None = None


DEFAULT_TILT = 30.0  # a typical pitched roof
DEFAULT_AZIMUTH = 180.0  # south


@strawberry.type(description="Where a site's PV is and how it faces (pvlib conventions).")
class PvSystem:
    latitude: float
    longitude: float
    tilt: float = strawberry.field(description="Degrees from horizontal (default 30).")
    azimuth: float = strawberry.field(
        description="Degrees clockwise from north, 180 = south (default 180)."
    )
    kwp: float | None = strawberry.field(description="DC nameplate (the site's pvPeakKw).")


@strawberry.type(description="A site: series by role, time zone, tariff.")
class Site:
    record: strawberry.Private[SiteRecord]

    @strawberry.field
    def key(self) -> str:
        return self.record.key

    @strawberry.field
    def name(self) -> str:
        return self.record.name

    @strawberry.field
    def timezone(self) -> str:
        return self.record.timezone

    @strawberry.field
    def pv(self) -> str | None:
        return self.record.pv

    @strawberry.field
    def load(self) -> str | None:
        return self.record.load

    @strawberry.field
    def grid_import(self) -> str | None:
        return self.record.grid_import

    @strawberry.field
    def grid_export(self) -> str | None:
        return self.record.grid_export

    @strawberry.field
    def grid(self) -> str | None:
        return self.record.grid

    @strawberry.field
    def battery_charge(self) -> str | None:
        return self.record.battery_charge

    @strawberry.field
    def battery_discharge(self) -> str | None:
        return self.record.battery_discharge

    @strawberry.field
    def battery(self) -> str | None:
        return self.record.battery

    @strawberry.field
    def pv_peak_kw(self) -> float | None:
        return self.record.pv_peak_kw

    @strawberry.field(description="PV settings for clear-sky profiles; null if not given.")
    def pv_system(self) -> PvSystem | None:
        r = self.record
        if r.latitude is None or r.longitude is None:
            return None
        return PvSystem(
            latitude=r.latitude,
            longitude=r.longitude,
            tilt=r.tilt if r.tilt is not None else DEFAULT_TILT,
            azimuth=r.azimuth if r.azimuth is not None else DEFAULT_AZIMUTH,
            kwp=r.pv_peak_kw,
        )

    @strawberry.field
    def co2_region(self) -> str:
        return self.record.co2_region

    @strawberry.field
    def co2_intensity(self) -> float | None:
        return self.record.co2_intensity

    @strawberry.field
    def labels(self) -> JSON:
        return JSON(dict(self.record.labels or {}))

    @strawberry.field
    def tariff(self) -> Tariff:
        r = self.record
        return Tariff(
            kind=TariffKind(r.tariff),
            import_price_ct=r.import_price_ct,
            feed_in_ct=r.feed_in_ct,
            price_series=r.price_key,
            surcharges_ct=r.surcharges_ct,
            vat=r.vat,
        )

    @strawberry.field(
        description="KPIs per bucket and in total. Flows are computed per `resolution` step "
        "(default PT15M; must divide PT1H and `every`), then summed; ratios come from the "
        "sums. Buckets follow the wall clock of `timezone` (default: the site's zone)."
    )
    async def kpis(
        self,
        info: Info[Context, None],
        from_: From,
        to: datetime,
        every: str,
        timezone: str | None = None,
        resolution: str = "PT15M",
        emission_factors: EmissionFactorFamily = EmissionFactorFamily.LIFECYCLE,
    ) -> SiteKpis:
        return await site_kpis(
            info,
            self.record,
            start=from_,
            end=to,
            every=every,
            timezone=timezone,
            resolution=resolution,
            family=emission_factors,
        )


@strawberry.type
class UpsertSiteResult:
    site: Site | None
    user_errors: list[UserError]


class InvalidInput(GatewayError):
    """A bad field of an input object; becomes a typed userError, nothing is written."""


def _finite(value: float | None, name: str, *, low: float = 0.0) -> None:
    if value is not None and not (math.isfinite(value) and value >= low):
        raise InvalidInput(
            f"`{name}` must be a finite number >= {low:g}", code=UserErrorCode.INVALID_TARIFF
        )


_PV_BOUNDS = {
    "latitude": (-90.0, 90.0, True),
    "longitude": (-180.0, 180.0, True),
    "tilt": (0.0, 90.0, True),
    "azimuth": (0.0, 360.0, False),  # 360 is 0
}


def _check_pv_settings(value: SiteInput) -> None:
    for name, (low, high, closed) in _PV_BOUNDS.items():
        number = getattr(value, name)
        if number is None:
            continue
        inside = low <= number <= high if closed else low <= number < high
        if not (math.isfinite(number) and inside):
            bracket = "]" if closed else ")"
            raise InvalidInput(
                f"`{name}` must lie in [{low:g}, {high:g}{bracket}", code=UserErrorCode.INVALID_PV
            )
    if (value.latitude is None) != (value.longitude is None):
        raise InvalidInput(
            "`latitude` and `longitude` come together", code=UserErrorCode.INVALID_PV
        )


def check_tariff(t: TariffInput) -> None:
    """Raise `InvalidInput` (INVALID_TARIFF) unless the tariff is complete and in range."""
    for name, number in (
        ("importPriceCt", t.import_price_ct),
        ("feedInCt", t.feed_in_ct),
        ("surchargesCt", t.surcharges_ct),
        ("vat", t.vat),
    ):
        _finite(number, name)
    if t.kind is TariffKind.FIXED and t.import_price_ct is None:
        raise InvalidInput(
            "a FIXED tariff needs `importPriceCt`", code=UserErrorCode.INVALID_TARIFF
        )
    if t.kind is TariffKind.DYNAMIC and (
        t.price_series is None or t.surcharges_ct is None or t.vat is None
    ):
        raise InvalidInput(
            "a DYNAMIC tariff needs `priceSeries`, `surchargesCt` and `vat`",
            code=UserErrorCode.INVALID_TARIFF,
        )
    if t.vat is not None and not t.vat < 1:
        raise InvalidInput(
            "`vat` is a fraction below 1, e.g. 0.19", code=UserErrorCode.INVALID_TARIFF
        )


def _record(value: SiteInput) -> SiteRecord:
    try:
        check_key(value.key)
        zone = check_timezone(value.timezone)
        region = check_region(value.co2_region, "co2Region")
    except InvalidArgument as exc:
        raise InvalidInput(str(exc), code=exc.code) from None
    if value.grid is not None and (value.grid_import or value.grid_export):
        raise InvalidInput(
            "give `grid` or `gridImport`/`gridExport`, not both", code=UserErrorCode.INVALID_SITE
        )
    if (value.grid_import is None) != (value.grid_export is None):
        raise InvalidInput(
            "`gridImport` and `gridExport` come together", code=UserErrorCode.INVALID_SITE
        )
    if value.battery is not None and (value.battery_charge or value.battery_discharge):
        raise InvalidInput(
            "give `battery` or `batteryCharge`/`batteryDischarge`, not both",
            code=UserErrorCode.INVALID_SITE,
        )
    if (value.battery_charge is None) != (value.battery_discharge is None):
        raise InvalidInput(
            "`batteryCharge` and `batteryDischarge` come together", code=UserErrorCode.INVALID_SITE
        )
    if value.load is None and value.grid is None and value.grid_import is None:
        raise InvalidInput(
            "a site needs a `load` or a grid series", code=UserErrorCode.INVALID_SITE
        )
    t = value.tariff
    check_tariff(t)
    _finite(value.pv_peak_kw, "pvPeakKw")
    _check_pv_settings(value)
    _finite(value.co2_intensity, "co2Intensity")
    labels: Any = value.labels
    if labels is not None and (problem := json_object_problem(labels, "labels")):
        raise InvalidInput(problem, code=UserErrorCode.BAD_USER_INPUT)
    dynamic = t.kind is TariffKind.DYNAMIC
    return SiteRecord(
        key=value.key,
        name=value.name or value.key,
        timezone=zone,
        pv=value.pv,
        load=value.load,
        grid_import=value.grid_import,
        grid_export=value.grid_export,
        grid=value.grid,
        battery_charge=value.battery_charge,
        battery_discharge=value.battery_discharge,
        battery=value.battery,
        pv_peak_kw=value.pv_peak_kw,
        latitude=value.latitude,
        longitude=value.longitude,
        tilt=value.tilt,
        azimuth=value.azimuth,
        tariff=t.kind.name,
        import_price_ct=t.import_price_ct if not dynamic else None,
        feed_in_ct=t.feed_in_ct,
        price_key=t.price_series if dynamic else None,
        surcharges_ct=t.surcharges_ct if dynamic else None,
        vat=t.vat if dynamic else None,
        co2_region=region,
        co2_intensity=value.co2_intensity,
        labels=labels,
    )


def _series_errors(record: SiteRecord, found: dict[str, SeriesRecord | None]) -> list[UserError]:
    errors = []
    for role, key in record.roles().items():
        series = found[key]
        if series is None:
            errors.append(
                UserError(
                    code=UserErrorCode.UNKNOWN_SERIES,
                    message=f"role {role}: no such series",
                    key=key,
                )
            )
            continue
        try:
            db_energy.source_for(series)
        except db_energy.UnsupportedSeries as exc:
            code = UserErrorCode[exc.code]
            errors.append(UserError(code=code, message=f"role {role}: {exc}", key=key))
    if record.price_key is not None:
        price = found[record.price_key]
        if price is None:
            errors.append(
                UserError(
                    code=UserErrorCode.UNKNOWN_SERIES,
                    message="price series not found",
                    key=record.price_key,
                )
            )
        elif price.kind != "PRICE" or price.unit != "EUR/MWh":
            errors.append(
                UserError(
                    code=UserErrorCode.UNSUPPORTED_SERIES,
                    message="the price series must be a PRICE series in EUR/MWh",
                    key=record.price_key,
                )
            )
    return errors


async def upsert_site(info: Info[Context, None], input: SiteInput) -> UpsertSiteResult:
    try:
        record = _record(input)
    except InvalidInput as exc:
        error = UserError(code=as_user_error(exc.code), message=str(exc))
        return UpsertSiteResult(site=None, user_errors=[error])
    keys = list(record.roles().values()) + ([record.price_key] if record.price_key else [])
    loaded = await info.context.loaders.series_by_key.load_many(keys)
    errors = _series_errors(record, dict(zip(keys, loaded, strict=True)))
    if errors:
        return UpsertSiteResult(site=None, user_errors=errors)
    stored = await db_sites.upsert_site(info.context.database, record)
    return UpsertSiteResult(site=Site(record=stored), user_errors=[])


async def get_site(info: Info[Context, None], key: str) -> Site | None:
    record = await db_sites.fetch_site(info.context.database, key)
    return Site(record=record) if record is not None else None


async def list_sites(info: Info[Context, None], first: int = 100) -> list[Site]:
    limit = info.context.limits.max_page_size
    if not 1 <= first <= limit:
        raise InvalidArgument(f"`first` must be between 1 and {limit}")
    return [Site(record=r) for r in await db_sites.list_sites(info.context.database, limit=first)]
