"""The `Series` type with its reads (samples, aggregate), and the series queries/mutation."""

from __future__ import annotations

import base64
import binascii
import math
from datetime import datetime, timedelta
from typing import Any

import strawberry
from strawberry.types import Info

from db import aggregate as db_aggregate, samples as db_samples, series as db_series
from db.durations import format_duration, parse_duration, parse_iso_duration
from db.series import SeriesRecord
from resolvers.arguments import (
    From,
    To,
    check_every,
    check_json_object,
    check_key,
    check_read_range,
    check_timezone,
)
from resolvers.codes import UserErrorCode
from resolvers.context import Context
from resolvers.energy import EnergyColumns, series_energy
from resolvers.errors import InvalidArgument
from resolvers.sample_cost import all_samples
from resolvers.scalars import JSON
from resolvers.selection import selected_subfields
from resolvers.types import (
    BucketColumns,
    Fill,
    Integration,
    PageInfo,
    SampleColumns,
    SeriesFilter,
    SeriesInput,
    SeriesKind,
)

__all__ = ["Series", "SeriesConnection", "get_series", "list_series", "upsert_series"]

_NARROW_SAMPLES = "narrow the range, lower `limit`, or ask for fewer series in one request"


@strawberry.type(description="A time series: metadata plus range reads.")
class Series:
    record: strawberry.Private[SeriesRecord]

    @strawberry.field
    def key(self) -> str:
        return self.record.key

    @strawberry.field
    def name(self) -> str:
        return self.record.name

    @strawberry.field
    def kind(self) -> SeriesKind:
        return SeriesKind(self.record.kind)

    @strawberry.field
    def unit(self) -> str:
        return self.record.unit

    @strawberry.field(description="IANA time zone of the series (default UTC).")
    def timezone(self) -> str:
        return self.record.timezone

    @strawberry.field(description="Nominal interval as ISO-8601 duration; null if irregular.")
    def resolution(self) -> str | None:
        return self.record.resolution

    @strawberry.field
    def labels(self) -> JSON:
        return JSON(self.record.labels)

    @strawberry.field
    def source(self) -> str | None:
        return self.record.source

    @strawberry.field(description="Stored integration method of a POWER series (null: default).")
    def integration(self) -> Integration | None:
        return Integration(self.record.integration) if self.record.integration else None

    @strawberry.field(description="Stored gap limit as an ISO-8601 duration (null: default).")
    def max_gap(self) -> str | None:
        return format_duration(self.record.max_gap) if self.record.max_gap else None

    @strawberry.field(description="Register rollover value of a METER series, if any.")
    def meter_modulus(self) -> float | None:
        return self.record.meter_modulus

    @strawberry.field(
        description="Energy in kWh per bucket and in total, computed in the database: POWER "
        "integrated by the series' method with its gap limit, METER by register deltas "
        "(reset, rollover, dip handled), ENERGY by sum. Buckets as in `aggregate`."
    )
    async def energy(
        self,
        info: Info[Context, None],
        from_: From,
        to: To,
        every: str,
        timezone: str | None = None,
    ) -> EnergyColumns:
        return await series_energy(self.record, info, from_, to, every, timezone)

    @strawberry.field(
        description="Forecast series of this series (labelled forecast_of = this key), by key."
    )
    async def forecasts(self, info: Info[Context, None]) -> list[Series]:
        ctx = info.context
        records = await db_series.list_series(
            ctx.database,
            where=db_series.SeriesFilter(labels={"forecast_of": self.record.key}),
            after_key=None,
            limit=ctx.limits.max_page_size,
        )
        for record in records:
            ctx.loaders.prime(record)
        return [Series(record=r) for r in records]

    @strawberry.field
    async def first_timestamp(self, info: Info[Context, None]) -> datetime | None:
        return (await info.context.loaders.extents.load(self.record.id))[0]

    @strawberry.field
    async def last_timestamp(self, info: Info[Context, None]) -> datetime | None:
        return (await info.context.loaders.extents.load(self.record.id))[1]

    @strawberry.field(
        description="Raw samples in [from, to), oldest first. With `limit`, at most that many "
        "(`truncated` tells if more exist; the budget is charged `limit`). Without, all of "
        "them, charged what the range holds at the series' resolution (or its stored count): "
        "refused with BUDGET_EXCEEDED, never cut short, when they exceed the budget."
    )
    async def samples(
        self, info: Info[Context, None], from_: From, to: To, limit: int | None = None
    ) -> SampleColumns:
        check_read_range(from_, to)
        ctx = info.context
        if limit is None:
            return await all_samples(self.record, ctx, from_, to)
        if limit < 1:
            raise InvalidArgument("`limit` must be at least 1")
        ctx.budget.spend(limit, "samples", narrow=_NARROW_SAMPLES)
        timestamps, values = await db_samples.read_samples(
            ctx.database, series_id=self.record.id, start=from_, end=to, limit=limit + 1
        )
        truncated = len(timestamps) > limit
        return SampleColumns(
            timestamps=timestamps[:limit], values=values[:limit], truncated=truncated
        )

    @strawberry.field(
        description="Bucketed aggregates in [from, to), computed in the database. `every` is an "
        "ISO-8601 duration (PT15M, PT1H, P1D, P1W, P1M, P3M, P1Y); calendar buckets follow the "
        "wall clock of `timezone` (default: the series' zone). Only selected columns are computed."
    )
    async def aggregate(
        self,
        info: Info[Context, None],
        from_: From,
        to: To,
        every: str,
        timezone: str | None = None,
        fill: Fill = Fill.NONE,
    ) -> BucketColumns:
        check_read_range(from_, to)
        width = check_every(every)
        zone = check_timezone(timezone or self.record.timezone)
        ctx = info.context
        ctx.budget.spend(width.max_buckets(from_, to), "aggregate")
        wanted = selected_subfields(info) & set(db_aggregate.AGGREGATES)
        rows = await ctx.loaders.buckets.load(
            db_aggregate.BucketRequest(
                series_id=self.record.id,
                start=from_,
                end=to,
                width=width,
                timezone=zone,
                aggregates=frozenset(wanted | {"count"}),
                fill=db_aggregate.Fill(fill.value),
            )
        )
        return BucketColumns(starts=rows.starts, ends=rows.ends, **rows.columns)


@strawberry.type
class SeriesEdge:
    cursor: str
    node: Series


@strawberry.type
class SeriesConnection:
    edges: list[SeriesEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Series]:
        return [edge.node for edge in self.edges]


def _encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(b"k:" + key.encode()).decode()


def _decode_cursor(cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode())
    except (binascii.Error, ValueError):
        raw = b""
    if not raw.startswith(b"k:"):
        raise InvalidArgument("invalid `after` cursor; pass an endCursor from a previous page")
    return raw[2:].decode(errors="replace")


async def get_series(info: Info[Context, None], key: str) -> Series | None:
    record = await info.context.loaders.series_by_key.load(key)
    return Series(record=record) if record else None


async def list_series(
    info: Info[Context, None],
    filter: SeriesFilter | None = None,
    first: int | None = 100,
    after: str | None = None,
) -> SeriesConnection:
    ctx = info.context
    first = 100 if first is None else first
    if not 1 <= first <= ctx.limits.max_page_size:
        raise InvalidArgument(f"`first` must be between 1 and {ctx.limits.max_page_size}")
    where = _filter(filter)
    records = await db_series.list_series(
        ctx.database,
        where=where,
        after_key=_decode_cursor(after) if after is not None else None,
        limit=first + 1,
    )
    page = records[:first]
    for record in page:
        ctx.loaders.prime(record)
    edges = [SeriesEdge(cursor=_encode_cursor(r.key), node=Series(record=r)) for r in page]
    return SeriesConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(records) > first, end_cursor=edges[-1].cursor if edges else None
        ),
    )


def _filter(value: SeriesFilter | None) -> db_series.SeriesFilter:
    if value is None:
        return db_series.SeriesFilter()
    kinds = [k.value for k in value.kinds or []]
    if value.kind is not None:
        kinds.append(value.kind.value)
    labels = None if value.labels is None else check_json_object(value.labels, "labels")
    for name, text in (("source", value.source), ("keyPrefix", value.key_prefix)):
        if text is not None and len(text) > _MAX_SOURCE:
            raise InvalidArgument(f"`{name}` must be at most {_MAX_SOURCE} characters")
    return db_series.SeriesFilter(
        kinds=kinds or None,
        source=value.source,
        key_prefix=value.key_prefix,
        labels=labels,
    )


_MAX_SOURCE = 200  # an indexed column: a btree row holds at most ~2.7 kB


def _whole_duration(text: str) -> bool:
    parsed = parse_iso_duration(text) if len(text) <= 32 else None
    return parsed is not None and not parsed.fraction


def _series_values(value: SeriesInput) -> db_series.SeriesValues:
    check_key(value.key)
    for name, text, limit in (("unit", value.unit, 50), ("name", value.name, 200)):
        if text is not None and not 0 < len(text.strip()) <= limit:
            raise InvalidArgument(f"`{name}` must be 1-{limit} characters")
    if value.source is not None and len(value.source) > _MAX_SOURCE:
        raise InvalidArgument(f"`source` must be at most {_MAX_SOURCE} characters")
    if value.resolution is not None and not _whole_duration(value.resolution):
        raise InvalidArgument("`resolution` must be an ISO-8601 duration such as PT15M or PT1H")
    labels: Any = value.labels
    if labels is not None:
        labels = check_json_object(labels, "labels")
    max_gap = None
    if value.max_gap is not None:
        try:
            max_gap = parse_duration(value.max_gap) if len(value.max_gap) <= 32 else None
        except OverflowError:
            max_gap = None
        if max_gap is None or max_gap <= timedelta(0):
            raise InvalidArgument(
                "`maxGap` must be a positive ISO-8601 duration of fixed length, e.g. PT30M",
                code=UserErrorCode.INVALID_INTERVAL,
            )
    if value.meter_modulus is not None and not (
        math.isfinite(value.meter_modulus) and value.meter_modulus > 0
    ):
        raise InvalidArgument("`meterModulus` must be a positive number")
    return db_series.SeriesValues(
        key=value.key,
        kind=value.kind.value,
        unit=value.unit.strip(),
        name=value.name,
        timezone=check_timezone(value.timezone) if value.timezone is not None else None,
        resolution=value.resolution,
        labels=labels,
        source=value.source,
        integration=value.integration.name if value.integration is not None else None,
        max_gap=max_gap,
        meter_modulus=value.meter_modulus,
    )


async def upsert_series(info: Info[Context, None], input: SeriesInput) -> Series:
    record = await db_series.upsert_series(info.context.database, _series_values(input))
    info.context.loaders.prime(record)
    return Series(record=record)
