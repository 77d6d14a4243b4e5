"""What the scraper knows about SMARD filters, regions and resolutions.

The filter table follows the bundesAPI OpenAPI labels (see docs/smard.md, Filters). The
region sets per group are the combinations users have confirmed; anything else is refused at
start-up so a typo does not turn into an hourly 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Kind(StrEnum):
    PRICE = "PRICE"
    ENERGY = "ENERGY"


@dataclass(frozen=True, slots=True)
class FilterInfo:
    id: int
    name: str
    kind: Kind
    regions: frozenset[str]

    @property
    def unit(self) -> str:
        # Energy values are MWh per interval of the series' resolution, as delivered.
        return "EUR/MWh" if self.kind is Kind.PRICE else "MWh"


@dataclass(frozen=True, slots=True)
class ResolutionInfo:
    name: str
    iso: str
    # Shortest possible interval; used to decide whether a chunk's last point is stored.
    min_step_ms: int
    # Exact step between points, only for resolutions that are not calendar based.
    fixed_step_ms: int | None


_HOUR_MS: Final = 3_600_000
_DAY_MS: Final = 24 * _HOUR_MS

RESOLUTIONS: Final[dict[str, ResolutionInfo]] = {
    r.name: r
    for r in (
        ResolutionInfo("quarterhour", "PT15M", 900_000, 900_000),
        ResolutionInfo("hour", "PT1H", _HOUR_MS, _HOUR_MS),
        ResolutionInfo("day", "P1D", 23 * _HOUR_MS, None),
        ResolutionInfo("week", "P1W", 7 * _DAY_MS - _HOUR_MS, None),
        ResolutionInfo("month", "P1M", 28 * _DAY_MS - _HOUR_MS, None),
        ResolutionInfo("year", "P1Y", 365 * _DAY_MS - _HOUR_MS, None),
    )
}

CONTROL_AREAS: Final = frozenset({"50Hertz", "Amprion", "TenneT", "TransnetBW", "APG", "Creos"})
REGIONS: Final = frozenset({"DE", "AT", "LU", "DE-LU", "DE-AT-LU"}) | CONTROL_AREAS

_DE_PRICE_REGIONS: Final = frozenset({"DE", "DE-LU", "DE-AT-LU"})
# Neighbour prices are published under the DE tree only (bundesAPI issue #8).
_NEIGHBOUR_PRICE_REGIONS: Final = frozenset({"DE"})
_REALISED_REGIONS: Final = frozenset({"DE", "AT", "LU"}) | CONTROL_AREAS
_FORECAST_REGIONS: Final = frozenset({"DE"})


def _price(fid: int, zone: str, regions: frozenset[str]) -> FilterInfo:
    return FilterInfo(fid, f"Day-ahead price {zone}", Kind.PRICE, regions)


def _energy(fid: int, name: str, regions: frozenset[str]) -> FilterInfo:
    return FilterInfo(fid, name, Kind.ENERGY, regions)


FILTERS: Final[dict[int, FilterInfo]] = {
    f.id: f
    for f in (
        _price(4169, "Germany/Luxembourg", _DE_PRICE_REGIONS),
        _price(5078, "DE/LU neighbours (average)", _NEIGHBOUR_PRICE_REGIONS),
        _price(4170, "Austria", _NEIGHBOUR_PRICE_REGIONS),
        _price(4996, "Belgium", _NEIGHBOUR_PRICE_REGIONS),
        _price(4997, "Norway 2", _NEIGHBOUR_PRICE_REGIONS),
        _price(252, "Denmark 1", _NEIGHBOUR_PRICE_REGIONS),
        _price(253, "Denmark 2", _NEIGHBOUR_PRICE_REGIONS),
        _price(254, "France", _NEIGHBOUR_PRICE_REGIONS),
        _price(255, "Italy (North)", _NEIGHBOUR_PRICE_REGIONS),
        _price(256, "Netherlands", _NEIGHBOUR_PRICE_REGIONS),
        _price(257, "Poland", _NEIGHBOUR_PRICE_REGIONS),
        _price(259, "Switzerland", _NEIGHBOUR_PRICE_REGIONS),
        _price(260, "Slovenia", _NEIGHBOUR_PRICE_REGIONS),
        _price(261, "Czechia", _NEIGHBOUR_PRICE_REGIONS),
        _price(262, "Hungary", _NEIGHBOUR_PRICE_REGIONS),
        _energy(1223, "Realised generation lignite", _REALISED_REGIONS),
        _energy(4069, "Realised generation hard coal", _REALISED_REGIONS),
        _energy(4071, "Realised generation natural gas", _REALISED_REGIONS),
        _energy(1224, "Realised generation nuclear", _REALISED_REGIONS),
        _energy(4067, "Realised generation wind onshore", _REALISED_REGIONS),
        _energy(1225, "Realised generation wind offshore", _REALISED_REGIONS),
        _energy(4068, "Realised generation photovoltaics", _REALISED_REGIONS),
        _energy(4066, "Realised generation biomass", _REALISED_REGIONS),
        _energy(1226, "Realised generation hydro", _REALISED_REGIONS),
        _energy(4070, "Realised generation pumped storage", _REALISED_REGIONS),
        _energy(1228, "Realised generation other renewables", _REALISED_REGIONS),
        _energy(1227, "Realised generation other conventional", _REALISED_REGIONS),
        _energy(410, "Total load", _REALISED_REGIONS),
        _energy(4359, "Residual load", _REALISED_REGIONS),
        _energy(4387, "Pumped-storage consumption", _REALISED_REGIONS),
        _energy(122, "Forecast generation total", _FORECAST_REGIONS),
        _energy(5097, "Forecast generation wind and photovoltaics", _FORECAST_REGIONS),
        _energy(3791, "Forecast generation wind offshore", _FORECAST_REGIONS),
        _energy(123, "Forecast generation wind onshore", _FORECAST_REGIONS),
        _energy(125, "Forecast generation photovoltaics", _FORECAST_REGIONS),
        _energy(715, "Forecast generation other", _FORECAST_REGIONS),
        _energy(411, "Forecast total load", _FORECAST_REGIONS),
    )
}

# Ids that look plausible but must not be used; the message explains why.
REFUSED_FILTERS: Final[dict[int, str]] = {
    258: "258 is listed as a second 'Poland' (bundesAPI issue #22), probably Sweden 4; unverified",
    126: "126 is the enum typo of the PV forecast; use 125",
}

DEFAULT_FUELS: Final = (1223, 4069, 4071, 1224, 4067, 1225, 4068, 4066, 1226, 4070, 1228, 1227)


def check_combination(filter_id: int, region: str, resolution: str) -> str | None:
    """Return a message explaining why the combination is invalid, or None when it is valid."""
    if filter_id in REFUSED_FILTERS:
        return f"filter {filter_id} is refused: {REFUSED_FILTERS[filter_id]}"
    info = FILTERS.get(filter_id)
    if info is None:
        return f"unknown filter id {filter_id}; known ids: {', '.join(map(str, sorted(FILTERS)))}"
    if resolution not in RESOLUTIONS:
        return f"unknown resolution {resolution!r}; use one of {', '.join(RESOLUTIONS)}"
    if region not in REGIONS:
        return f"unknown region {region!r}; use one of {', '.join(sorted(REGIONS))}"
    if region not in info.regions:
        return (
            f"filter {filter_id} ({info.name}) is not published for region {region!r}; "
            f"use one of {', '.join(sorted(info.regions))}"
        )
    return None
