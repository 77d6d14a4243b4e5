"""`python -m bench.documents`: the time of the pre-execution document analysis
(`gateway.analysis`) for the worst documents the token limit allows (docs/limits.md).

Each shape is grown to just under the token limit, parsed and analysed uncached, repeatedly;
the table shows the analysis alone, parse + analysis (what the endpoint does on a cache miss),
and graphql-core's validation of the same document with the served schema's rules for
comparison. Before issue 10 the first shape froze the process (about 8^21 calls).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

from graphql import GraphQLError, parse, validate
from pydantic import SecretStr

from gateway import analysis
from gateway.analysis import DocumentLimits, DocumentRefused
from gateway.schema import served_schema
from gateway.settings import Settings

__all__ = ["SHAPES", "main"]

LIMITS = DocumentLimits()


def _fan(spreads: int, leaf: str = "__typename") -> Callable[[int], str]:
    def build(levels: int) -> str:
        fragments = " ".join(
            f"fragment F{i} on Query {{ " + " ".join([f"...F{i + 1}"] * spreads) + " }"
            for i in range(levels)
        )
        return f"query {{ ...F0 }} {fragments} fragment F{levels} on Query {{ {leaf} }}"

    return build


def _self_cycle(n: int) -> str:
    return "query { ...A } fragment A on Query { " + "...A " * n + "__typename }"


def _chain(n: int) -> str:
    fragments = " ".join(f"fragment C{i} on Query {{ ...C{i + 1} }}" for i in range(n))
    return f"query {{ ...C0 }} {fragments} fragment C{n} on Query {{ __typename }}"


def _inline(n: int) -> str:
    return "query { " + "... on Query { " * n + "__typename" + " }" * n + " }"


def _wide(n: int) -> str:
    return "query { ...W } fragment W on Query { " + "__typename " * n + "}"


def _diamonds(n: int) -> str:
    """Every fragment spreads every later one: n^2/2 edges."""
    fragments = " ".join(
        f"fragment D{i} on Query {{ __typename "
        + " ".join(f"...D{j}" for j in range(i + 1, n))
        + " }"
        for i in range(n)
    )
    return "query { ...D0 } " + fragments


SHAPES: dict[str, Callable[[int], str]] = {
    "self-cycle, n spreads (the issue's query grown)": _self_cycle,
    "fan-out 2 per level": _fan(2),
    "fan-out 4 per level": _fan(4),
    "fan-out 8 per level": _fan(8),
    "fan-out 40 per level": _fan(40),
    "fan-out 4, root field at the bottom": _fan(4, "seriesList { __typename }"),
    "chain of fragments": _chain,
    "nested inline fragments": _inline,
    "one wide fragment": _wide,
    "every fragment spreads every later one": _diamonds,
}


def _tokens(text: str) -> int:
    try:
        parse(text, max_tokens=LIMITS.max_tokens)
    except GraphQLError:
        return LIMITS.max_tokens + 1
    return 0


def largest(build: Callable[[int], str]) -> str:
    """The largest n whose document still parses within the token limit."""
    lo, hi = 1, 1
    while _tokens(build(hi)) == 0 and hi < 100_000:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if _tokens(build(mid)) == 0 else (lo, mid)
    return build(lo)


def _time(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), max(samples)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.documents", description=__doc__)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args(argv)
    schema = served_schema(Settings(env="prod", database_url=SecretStr("postgresql://x/y")))
    print("| shape (at the 2,000-token limit) | bytes | verdict | analysis | parse + analysis "
          "| validation (for comparison) |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    worst = 0.0
    for name, build in SHAPES.items():
        text = largest(build)
        document = parse(text, max_tokens=LIMITS.max_tokens, no_location=True)
        try:
            result = analysis.analyse_parsed(document, LIMITS)
            verdict = "runs" if result.operations else "-"
        except DocumentRefused as refused:
            verdict = refused.code
        walk = _time(
            partial(_quiet, partial(analysis.analyse_parsed, document, LIMITS)), args.repeat
        )
        total = _time(partial(_quiet, partial(analysis._analyse_text, text, LIMITS)), args.repeat)
        checked = _time(partial(validate, schema._schema, document), max(3, args.repeat // 10))
        worst = max(worst, total[1])
        print(
            f"| {name} | {len(text)} | {verdict} | {walk[0]:.2f} ms (max {walk[1]:.2f}) "
            f"| {total[0]:.2f} ms (max {total[1]:.2f}) | {checked[0]:.1f} ms |"
        )
    print(f"\nworst parse + analysis: {worst:.2f} ms over {args.repeat} runs per shape")


def _quiet(run: Callable[[], object]) -> None:
    try:
        run()
    except DocumentRefused:
        pass


if __name__ == "__main__":
    main()
