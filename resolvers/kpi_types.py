"""The warning attached to energy, market and KPI results. The rules that raise warnings are in
`resolvers.plausibility` (docs/plausibility.md). Values are never scaled or clamped; a warning
says what is odd."""

from __future__ import annotations

import enum

import strawberry

from resolvers.codes import WarningCode, describe

__all__ = ["KpiWarning", "WarningLevel"]


strawberry.enum(WarningCode, description="Codes of `KpiWarning.code` (docs/plausibility.md).")


@strawberry.enum(description="WARNING: unusual but possible. ERROR: almost surely a data error.")
class WarningLevel(enum.Enum):
    WARNING = "WARNING"
    ERROR = "ERROR"


@strawberry.type(description="Something a result's reader must know; the value is not altered.")
class KpiWarning:
    code: WarningCode = strawberry.field(
        description=describe("Stable code of the rule (docs/plausibility.md):", WarningCode)
    )
    level: WarningLevel
    message: str
    quantity: str | None = None
    bucket: int | None = strawberry.field(
        default=None, description="Index into the bucket columns; null for the total."
    )
    value: float | None = None
