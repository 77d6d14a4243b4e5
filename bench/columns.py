"""`python -m bench.columns`: what completing long result columns costs in graphql-core.

Four columns of `--rows` elements (bucket starts, values, values with gaps, counts) are
executed through the served scalar map twice, alternating: as the column scalars the schema
uses (`DateTimeColumn`, `FloatColumn`, `NullableFloatColumn`, `IntColumn`: one leaf each) and
typed as GraphQL lists (`[DateTime!]!`, ...: graphql-core completes every element). The
baseline is orjson encoding the same columns, the floor any response pays. Both executions
must return the same data (docs/api.md, "Column scalars"; docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta

import orjson
import strawberry
from strawberry.schema.config import StrawberryConfig

from resolvers.scalars import (
    DateTimeColumn,
    FloatColumn,
    IntColumn,
    NullableFloatColumn,
    scalar_map,
)

__all__ = ["main"]

_COLUMNS: dict[str, list[object]] = {}


@strawberry.type
class ListColumns:
    starts: list[datetime]
    values: list[float]
    avg: list[float | None]
    count: list[int]


@strawberry.type
class ScalarColumns:
    starts: list[datetime] = strawberry.field(graphql_type=DateTimeColumn)
    values: list[float] = strawberry.field(graphql_type=FloatColumn)
    avg: list[float | None] = strawberry.field(graphql_type=NullableFloatColumn)
    count: list[int] = strawberry.field(graphql_type=IntColumn)


@strawberry.type
class ListQuery:
    @strawberry.field
    def cols(self) -> ListColumns:
        return ListColumns(**_COLUMNS)  # type: ignore[arg-type]


@strawberry.type
class ScalarQuery:
    @strawberry.field
    def cols(self) -> ScalarColumns:
        return ScalarColumns(**_COLUMNS)  # type: ignore[arg-type]


async def _run(rows: int, repeat: int) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    _COLUMNS.update(
        starts=[start + timedelta(minutes=15 * i) for i in range(rows)],
        values=[i / 3 for i in range(rows)],
        avg=[None if i % 10 == 0 else i / 3 for i in range(rows)],
        count=list(range(rows)),
    )
    config = StrawberryConfig(scalar_map=scalar_map)
    schemas = {
        "column scalars (served)": strawberry.Schema(ScalarQuery, config=config),
        "GraphQL lists, element by element": strawberry.Schema(ListQuery, config=config),
    }
    times: dict[str, list[float]] = {name: [] for name in [*schemas, "baseline: orjson.dumps"]}
    reference = None
    for _ in range(repeat):
        for name, schema in schemas.items():
            began = time.perf_counter()
            result = await schema.execute("{ cols { starts values avg count } }")
            times[name].append(time.perf_counter() - began)
            if result.errors or (reference is not None and result.data != reference):
                raise SystemExit(f"{name}: wrong result {result.errors}")
            reference = result.data
        began = time.perf_counter()
        orjson.dumps(reference)
        times["baseline: orjson.dumps"].append(time.perf_counter() - began)
    print(f"4 columns x {rows:,} elements, {repeat} runs each, alternating")
    print("| completion | median ms | min ms |")
    print("|---|---:|---:|")
    for name, samples in times.items():
        print(f"| {name} | {statistics.median(samples) * 1000:.1f} | {min(samples) * 1000:.1f} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.columns", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="elements per column")
    parser.add_argument("--repeat", type=int, default=9, help="runs per variant")
    args = parser.parse_args(argv)
    asyncio.run(_run(args.rows, args.repeat))


if __name__ == "__main__":
    main()
