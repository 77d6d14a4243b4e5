"""Warnings attached to energy, market and KPI results, and the plausibility checks that
raise them (docs/plausibility.md). Values are never scaled or clamped; a warning says what is
odd."""

from __future__ import annotations

import enum
from collections.abc import Sequence

import strawberry

__all__ = [
    "COVERAGE_OK",
    "COVERAGE_FLAG",
    "KpiWarning",
    "WarningLevel",
    "check_range",
    "coverage_warnings",
]

COVERAGE_OK = 0.95  # docs/plausibility.md: >= 95 % plausible, 90-95 % warn, < 90 % flagged
COVERAGE_FLAG = 0.90


@strawberry.enum(description="WARNING: unusual but possible. ERROR: almost surely a data error.")
class WarningLevel(enum.Enum):
    WARNING = "WARNING"
    ERROR = "ERROR"


@strawberry.type(description="Something a result's reader must know; the value is not altered.")
class KpiWarning:
    code: str
    level: WarningLevel
    message: str
    quantity: str | None = None
    bucket: int | None = strawberry.field(
        default=None, description="Index into the bucket columns; null for the total."
    )
    value: float | None = None


def coverage_warnings(
    coverage: Sequence[float], total: float, quantity: str, code: str = "LOW_COVERAGE"
) -> list[KpiWarning]:
    """`code` per bucket and for the total below 95 % coverage; ERROR below 90 %."""
    out: list[KpiWarning] = []
    for index, value in [*enumerate(coverage), (None, total)]:
        if value >= COVERAGE_OK:
            continue
        level = WarningLevel.ERROR if value < COVERAGE_FLAG else WarningLevel.WARNING
        where = "the total" if index is None else f"bucket {index}"
        out.append(
            KpiWarning(
                code=code,
                level=level,
                message=f"{quantity}: data cover {value:.1%} of {where}; the value is not "
                "scaled up",
                quantity=quantity,
                bucket=index,
                value=value,
            )
        )
    return out


def check_range(
    value: float | None,
    *,
    code: str,
    quantity: str,
    plausible: tuple[float, float] | None,
    hard: tuple[float, float] | None,
    bucket: int | None,
    what: str,
) -> KpiWarning | None:
    """WARNING outside `plausible`, ERROR outside `hard` (either bound may be +-inf)."""
    if value is None:
        return None
    if hard is not None and not hard[0] <= value <= hard[1]:
        level = WarningLevel.ERROR
        bounds = hard
    elif plausible is not None and not plausible[0] <= value <= plausible[1]:
        level = WarningLevel.WARNING
        bounds = plausible
    else:
        return None
    return KpiWarning(
        code=code,
        level=level,
        message=f"{what} {value:.4g} is outside [{bounds[0]:g}, {bounds[1]:g}]",
        quantity=quantity,
        bucket=bucket,
        value=value,
    )
