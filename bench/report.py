"""Results: medians with min/max, ratios to the baseline, targets, and the machine facts."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

__all__ = ["Measure", "Row", "render"]


@dataclass
class Measure:
    """Repeated measurements of one quantity; `higher_is_better` for rates."""

    unit: str
    higher_is_better: bool
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def text(self) -> str:
        if not self.samples:
            return "-"
        lo, hi = min(self.samples), max(self.samples)
        return f"{_num(self.median)} [{_num(lo)}-{_num(hi)}] {self.unit}"


@dataclass
class Row:
    scenario: str
    gateway: Measure
    baseline: Measure | None = None
    target: str = ""
    # Returns True/False when the row has a checkable target; None when informational.
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Gateway relative to baseline: >1 is better for rates, <1 is better for times."""
        if self.baseline is None or not self.baseline.samples or not self.gateway.samples:
            return None
        return self.gateway.median / self.baseline.median


def _num(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def render(rows: list[Row], facts: dict[str, str], command: str) -> str:
    lines = [
        "| scenario | gateway | baseline (raw asyncpg) | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
        met = {True: "yes", False: "**no**", None: "-"}[row.met]
        base = row.baseline.text() if row.baseline else "-"
        scenario = row.scenario + (f" ({row.note})" if row.note else "")
        lines.append(
            f"| {scenario} | {row.gateway.text()} | {base} | {ratio} | {row.target} | {met} |"
        )
    lines.append("")
    lines.append("Machine: " + "; ".join(f"{k}: {v}" for k, v in facts.items()))
    lines.append(f"Command: `{command}`")
    return "\n".join(lines)
