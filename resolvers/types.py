"""GraphQL object types, enums and inputs of the core contract (docs/api.md)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import strawberry

from resolvers.codes import UserErrorCode, describe
from resolvers.scalars import (
    JSON,
    DateTimeColumn,
    EpochMillisColumn,
    FloatColumn,
    IntColumn,
    NullableFloatColumn,
)

__all__ = [
    "BucketColumns",
    "DeleteResult",
    "Fill",
    "IngestInput",
    "IngestResult",
    "Integration",
    "OnConflict",
    "PageInfo",
    "SampleColumns",
    "SeriesFilter",
    "SeriesInput",
    "SeriesKind",
    "SeriesSamplesInput",
    "UserError",
]


@strawberry.enum(description="What a series measures; drives unit handling and KPIs.")
class SeriesKind(enum.Enum):
    POWER = "POWER"
    ENERGY = "ENERGY"
    METER = "METER"
    PRICE = "PRICE"
    CO2_INTENSITY = "CO2_INTENSITY"
    KPI = "KPI"
    OTHER = "OTHER"


@strawberry.enum(description="How energy is integrated from a POWER series (docs/domain.md §2).")
class Integration(enum.Enum):
    TRAPEZOIDAL = strawberry.enum_value(
        "TRAPEZOIDAL", description="(P[i-1]+P[i])/2 per interval: polled, continuous signals."
    )
    LEFT = strawberry.enum_value(
        "LEFT", description="P[i-1] held until the next sample: report-on-change sources."
    )
    MEAN = strawberry.enum_value(
        "MEAN",
        description="Each sample is the mean power of [t, t + resolution): interval means.",
    )


@strawberry.enum(description="What ingest does with a timestamp that is already stored.")
class OnConflict(enum.Enum):
    UPDATE = strawberry.enum_value("UPDATE", description="Last write wins.")
    IGNORE = strawberry.enum_value("IGNORE", description="Keep what is stored.")
    ERROR = strawberry.enum_value(
        "ERROR",
        description="New samples only: one stored timestamp rejects the whole call with a "
        "SAMPLE_EXISTS user error. The fastest path (plain COPY).",
    )


@strawberry.enum(description="How `aggregate` treats buckets without samples.")
class Fill(enum.Enum):
    NONE = strawberry.enum_value("NONE", description="Omit empty buckets.")
    NULL = strawberry.enum_value("NULL", description="Every bucket; empty ones are null.")
    ZERO = strawberry.enum_value("ZERO", description="Every bucket; empty ones are 0.")
    LOCF = strawberry.enum_value(
        "LOCF", description="Every bucket; empty ones repeat the previous non-empty bucket."
    )
    LINEAR = strawberry.enum_value(
        "LINEAR",
        description="Every bucket; empty ones are interpolated in time between the "
        "neighbouring non-empty buckets (null at the edges).",
    )


def _optional_floats() -> Any:
    """A `NullableFloatColumn` field that is null unless the query asked for it."""
    return strawberry.field(default=None, graphql_type=NullableFloatColumn | None)


@strawberry.type(description="Raw samples as columns, ordered by time.")
class SampleColumns:
    timestamps: list[datetime] = strawberry.field(graphql_type=DateTimeColumn)
    values: list[float] = strawberry.field(graphql_type=FloatColumn)
    truncated: bool = strawberry.field(
        default=False, description="True when `limit` cut the result short."
    )


@strawberry.type(
    description="One entry per bucket, the same order in every list. Buckets are half-open "
    "[start, end); `ends[i]` is the next bucket's start on the wall clock of the zone."
)
class BucketColumns:
    starts: list[datetime] = strawberry.field(graphql_type=DateTimeColumn)
    ends: list[datetime] = strawberry.field(graphql_type=DateTimeColumn)
    count: list[int] = strawberry.field(graphql_type=IntColumn)
    avg: list[float | None] | None = _optional_floats()
    min: list[float | None] | None = _optional_floats()
    max: list[float | None] | None = _optional_floats()
    sum: list[float | None] | None = _optional_floats()
    first: list[float | None] | None = _optional_floats()
    last: list[float | None] | None = _optional_floats()


strawberry.enum(UserErrorCode, description="Codes of `UserError.code` (docs/api.md#errors).")


@strawberry.type
class UserError:
    code: UserErrorCode = strawberry.field(
        description=describe(
            "Stable code (docs/api.md#errors); the same codes refuse a query argument in "
            "`errors[].extensions.code`. `storeSiteKpi` also reports the errors of its KPI read "
            "here (see Query):",
            UserErrorCode,
        )
    )
    message: str
    key: str | None = None
    index: int | None = None


@strawberry.type
class IngestResult:
    accepted: int
    inserted: int
    updated: int
    unchanged: int
    user_errors: list[UserError]


@strawberry.type
class DeleteResult:
    deleted: int
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.input
class SeriesInput:
    key: str
    kind: SeriesKind
    unit: str
    name: str | None = None
    timezone: str | None = strawberry.field(default=None, description="IANA name; default UTC.")
    resolution: str | None = strawberry.field(
        default=None, description="Nominal interval as an ISO-8601 duration, e.g. PT15M."
    )
    labels: JSON | None = None
    source: str | None = None
    integration: Integration | None = strawberry.field(
        default=None,
        description="POWER only. Default: TRAPEZOIDAL with a `resolution`, LEFT without one.",
    )
    max_gap: str | None = strawberry.field(
        default=None,
        description="ISO-8601 duration (e.g. PT30M): sample spacings above it are not "
        "integrated. Default: max(2 x resolution, PT5M); none without a resolution.",
    )
    meter_modulus: float | None = strawberry.field(
        default=None, description="METER only: register rollover value in the series' unit."
    )


@strawberry.input(
    description="One series' samples as two equally long columns. Send `timestamps` or the "
    "bulk form `timestampsMs`, and `values` or the bulk form `valuesColumn`; the bulk forms "
    "are parsed as whole arrays and are several times cheaper for large batches."
)
class SeriesSamplesInput:
    key: str
    timestamps: list[datetime] = strawberry.field(default_factory=list)
    values: list[float] = strawberry.field(default_factory=list)
    timestamps_ms: EpochMillisColumn | None = strawberry.field(
        default=None, description="Bulk alternative to `timestamps`: epoch milliseconds (UTC)."
    )
    values_column: FloatColumn | None = strawberry.field(
        default=None, description="Bulk alternative to `values`."
    )


@strawberry.input
class IngestInput:
    series: list[SeriesSamplesInput]
    on_conflict: OnConflict = OnConflict.UPDATE


@strawberry.input
class SeriesFilter:
    kind: SeriesKind | None = None
    kinds: list[SeriesKind] | None = None
    source: str | None = None
    key_prefix: str | None = None
    labels: JSON | None = strawberry.field(
        default=None, description='Label containment, e.g. {"region": "DE-LU"}.'
    )
