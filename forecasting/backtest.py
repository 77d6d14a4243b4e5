"""Rolling-origin backtests: MAE, RMSE and MASE per model (docs/forecasting.md, "Backtest").

MASE divides a model's MAE by the in-sample MAE of the seasonal naive forecast on the data
before the first origin (Hyndman & Koehler 2006), so the seasonal naive itself scores about
1 and a useful model well below 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from forecasting.history import DAY_MS, WEEK_MS, Array, History
from forecasting.models import Model

__all__ = ["Score", "backtest", "format_scores"]

Bound = Callable[[Array], Array]


@dataclass(frozen=True, kw_only=True)
class Score:
    target: str
    model: str
    mae: float
    rmse: float
    mase: float | None
    origins: int
    points: int


def _scale(history: History, season_ms: int) -> float | None:
    lag = season_ms // history.step_ms
    v = history.values
    if len(v) <= lag:
        return None
    diffs = np.abs(v[lag:] - v[:-lag])
    diffs = diffs[np.isfinite(diffs)]
    return float(diffs.mean()) if len(diffs) and diffs.mean() > 0 else None


def backtest(
    target: str,
    history: History,
    models: Mapping[str, Model],
    *,
    horizon_ms: int,
    season_ms: int,
    weeks: int = 4,
    bound: Bound = lambda values: values,
) -> list[Score]:
    """One origin per day over the last `weeks` weeks; each forecast sees only the data
    before its origin and is scored on the horizon after it."""
    last = history.end_ms - horizon_ms
    origins = [last - k * DAY_MS for k in range(weeks * 7)][::-1]
    if origins[0] - WEEK_MS < int(history.starts_ms[0]):
        raise ValueError(f"{target}: a {weeks}-week backtest needs at least one more week of data")
    scale = _scale(history.until(origins[0]), season_ms)
    errors: dict[str, list[Array]] = {name: [] for name in models}
    for origin in origins:
        past = history.until(origin)
        stamps = past.future(horizon_ms)
        actual = history.at(stamps)
        seen = np.isfinite(actual)
        for name, model in models.items():
            errors[name].append(bound(model(past, stamps))[seen] - actual[seen])
    scores = []
    for name, parts in errors.items():
        e = np.concatenate(parts)
        mae = float(np.abs(e).mean()) if len(e) else float("nan")
        scores.append(
            Score(
                target=target,
                model=name,
                mae=mae,
                rmse=float(np.sqrt((e**2).mean())) if len(e) else float("nan"),
                mase=mae / scale if scale else None,
                origins=len(origins),
                points=len(e),
            )
        )
    return scores


def format_scores(scores: Sequence[Score]) -> str:
    width = max([len(s.target) for s in scores] + [6])
    header = (
        f"{'target':<{width}} {'model':<16} {'MAE':>10} {'RMSE':>10} {'MASE':>6} {'origins':>7}"
    )
    lines = [header, "-" * len(header)]
    for s in scores:
        mase = "-" if s.mase is None else f"{s.mase:.3f}"
        lines.append(
            f"{s.target:<{width}} {s.model:<16} {s.mae:>10.4g} {s.rmse:>10.4g} {mase:>6} "
            f"{s.origins:>7}"
        )
    return "\n".join(lines)
