"""SQL written with `:name` parameters, run on asyncpg with positional `$n` ones.

The read path sends its statements straight to asyncpg: SQLAlchemy's result layer costs
several microseconds a row, which is most of a rollup read's time (docs/timescaledb.md).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["positional"]

# `:name` but not the `::` of a cast.
_NAMED = re.compile(r"(?<!:):([a-z_]\w*)\b")


@functools.lru_cache(maxsize=1024)
def _compile(sql: str) -> tuple[str, tuple[str, ...]]:
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    return _NAMED.sub(number, sql), tuple(names)


def positional(sql: str, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """The statement with `$n` placeholders and its arguments in that order."""
    statement, names = _compile(sql)
    return statement, [params[n] for n in names]
