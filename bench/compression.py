"""`python -m bench.compression`: bytes and CPU time of each response coding on real gateway
responses (docs/performance.md, "Response compression").

Creates a scratch database, starts the gateway (`python -m gateway serve`, development mode),
loads 10 series of 15-minute samples and takes three responses as the gateway sends them
uncompressed: 1,000 raw samples of one series, a week of hourly buckets (`starts avg min max`)
of the 10 series, and about 0.8 MB of raw samples (10 series x 24 days). For each it prints,
per coding and level, the compressed size and the CPU time of compressing it in this process
(median of `--repeat`), then the gateway's own CPU time and latency per request with each
`Accept-Encoding` (what the middleware adds, thread hand-off included). The baseline is the
same rows fetched with asyncpg straight from PostgreSQL in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import brotli
import httpx
import orjson
import psutil
import zstandard

from bench.data import make_columns
from bench.scratch import create_scratch_database, drop_database
from bench.server import GatewayProcess, add_database_url, start_gateway
from gateway.compression import CODINGS

START = datetime(2025, 10, 1, tzinfo=UTC)
SERIES = 10
POINTS = 24 * 96  # 24 days of quarter hours per series

_UPSERT = "mutation($input: SeriesInput!) { upsertSeries(input: $input) { key } }"
_INGEST = (
    "mutation($input: IngestInput!) { ingest(input: $input) { inserted userErrors { code } } }"
)
_RAW = (
    "query($prefix: String!, $from: DateTime!, $to: DateTime!, $first: Int!) {"
    " seriesList(filter: {keyPrefix: $prefix}, first: $first) { nodes { key"
    " samples(from: $from, to: $to) { timestamps values } } } }"
)
_BUCKETS = (
    "query($prefix: String!, $from: DateTime!, $to: DateTime!) {"
    " seriesList(filter: {keyPrefix: $prefix}, first: 100) { nodes { key"
    ' aggregate(from: $from, to: $to, every: "PT1H") { starts avg min max } } } }'
)


def _iso(t: datetime) -> str:
    return t.isoformat()


# name -> (document, variables)
RESPONSES: dict[str, tuple[str, dict[str, object]]] = {
    "1,000 raw samples": (
        _RAW,
        {
            "prefix": "bench:zip:00",
            "from": _iso(START),
            "to": _iso(START + timedelta(minutes=15 * 1000)),
            "first": 1,
        },
    ),
    "week of hourly buckets, 10 series": (
        _BUCKETS,
        {"prefix": "bench:zip:", "from": _iso(START), "to": _iso(START + timedelta(days=7))},
    ),
    "24 days of raw samples, 10 series": (
        _RAW,
        {
            "prefix": "bench:zip:",
            "from": _iso(START),
            "to": _iso(START + timedelta(days=24)),
            "first": SERIES,
        },
    ),
}

# The levels the gateway uses (gateway.compression.CODINGS) and the libraries' usual defaults.
LEVELS: dict[str, Callable[[bytes], bytes]] = {
    "zstd 1 (used)": CODINGS["zstd"],
    "zstd 3": lambda b: zstandard.ZstdCompressor(level=3).compress(b),
    "br 1 (used)": CODINGS["br"],
    "br 4": lambda b: brotli.compress(b, quality=4),
    "gzip 1 (used)": CODINGS["gzip"],
    "gzip 6": lambda b: gzip.compress(b, compresslevel=6, mtime=0),
}


async def _load(url: str) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        for n in range(SERIES):
            key = f"bench:zip:{n:02d}"
            series = {"key": key, "kind": "POWER", "unit": "kW", "resolution": "PT15M"}
            response = await http.post(url, json={"query": _UPSERT, "variables": {"input": series}})
            response.raise_for_status()
            columns = make_columns(key, START, POINTS, seed=n)
            item = {"key": key, "timestampsMs": columns.millis, "valuesColumn": columns.values}
            body = orjson.dumps(
                {"query": _INGEST, "variables": {"input": {"series": [item]}}},
                option=orjson.OPT_SERIALIZE_NUMPY,
            )
            response = await http.post(
                url, content=body, headers={"content-type": "application/json"}
            )
            result = response.json()["data"]["ingest"]
            if result["userErrors"] or result["inserted"] != POINTS:
                raise SystemExit(f"ingest failed: {result}")


async def _baseline_ms(url: str, variables: dict[str, object], repeat: int) -> float:
    """The same raw rows straight from PostgreSQL with asyncpg (buckets: the raw rows under
    them), median ms."""
    conn = await asyncpg.connect(url)
    try:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            await conn.fetch(
                "SELECT s.key, x.ts, x.value FROM series s JOIN samples x ON x.series_id = s.id "
                "WHERE s.key LIKE $1 || '%' AND x.ts >= $2 AND x.ts < $3 ORDER BY s.key, x.ts",
                variables["prefix"],
                datetime.fromisoformat(str(variables["from"])),
                datetime.fromisoformat(str(variables["to"])),
            )
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)
    finally:
        await conn.close()


def _cpu_ms(encode: Callable[[bytes], bytes], body: bytes, repeat: int) -> tuple[int, float]:
    times = []
    for _ in range(repeat):
        started = time.thread_time()
        out = encode(body)
        times.append((time.thread_time() - started) * 1000)
    return len(out), statistics.median(times)


def _through_gateway(
    gateway: GatewayProcess, payload: bytes, accept: str, repeat: int
) -> tuple[int, float, float]:
    """Bytes on the wire, gateway CPU ms per request, median latency ms."""
    process = psutil.Process(gateway.pid)
    headers = {"content-type": "application/json", "accept-encoding": accept}
    with httpx.Client(timeout=60) as http:
        http.post(gateway.url, content=payload, headers=headers)  # warm
        before = process.cpu_times()
        latencies = []
        size = 0
        for _ in range(repeat):
            started = time.perf_counter()
            with http.stream("POST", gateway.url, content=payload, headers=headers) as response:
                size = sum(len(chunk) for chunk in response.iter_raw())
            latencies.append((time.perf_counter() - started) * 1000)
        after = process.cpu_times()
    cpu = (after.user + after.system - before.user - before.system) * 1000 / repeat
    return size, cpu, statistics.median(latencies)


def _measure(gateway: GatewayProcess, url: str, repeat: int) -> None:
    for name, (document, variables) in RESPONSES.items():
        payload = orjson.dumps({"query": document, "variables": variables})
        response = httpx.post(
            gateway.url,
            content=payload,
            headers={"content-type": "application/json", "accept-encoding": "identity"},
            timeout=60,
        )
        body = response.content
        if "errors" in response.json():
            raise SystemExit(f"{name}: {response.text[:300]}")
        baseline = asyncio.run(_baseline_ms(url, variables, repeat))
        print(f"\n{name}: {len(body):,} bytes of JSON; asyncpg fetch of the rows {baseline:.2f} ms")
        print(f"  {'coding':<15} {'bytes':>9} {'of JSON':>8} {'CPU ms':>8}")
        for label, encode in LEVELS.items():
            size, cpu = _cpu_ms(encode, body, repeat)
            print(f"  {label:<15} {size:>9,} {size / len(body):>8.1%} {cpu:>8.2f}")
        print(f"  through the gateway ({repeat} requests each)")
        print(f"  {'Accept-Encoding':<15} {'on wire':>9} {'CPU ms/req':>11} {'p50 ms':>8}")
        for accept in ("identity", "zstd", "br", "gzip"):
            size, cpu, p50 = _through_gateway(gateway, payload, accept, repeat)
            print(f"  {accept:<15} {size:>9,} {cpu:>11.2f} {p50:>8.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compression", description=__doc__)
    add_database_url(parser)
    parser.add_argument("--repeat", type=int, default=30, help="runs per figure (default 30)")
    args = parser.parse_args(argv)

    url = asyncio.run(create_scratch_database(args.database_url, "bench_compression"))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            gateway = start_gateway(url, Path(tmp) / "gateway.log")
            try:
                asyncio.run(_load(gateway.url))
                _measure(gateway, url, args.repeat)
            finally:
                gateway.stop()
    finally:
        asyncio.run(drop_database(args.database_url, url))
    print(f"\nCPU: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
