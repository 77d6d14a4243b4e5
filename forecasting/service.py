"""Issue forecasts and run backtests, writing both through the gateway's `ingest`
(docs/forecasting.md, "Output")."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from forecasting.backtest import Score, backtest
from forecasting.history import DAY_MS, Array, History, Stamps
from forecasting.settings import Settings
from forecasting.targets import Target, discover_targets, read_history
from sidecar.cli import repeat_until_stopped
from sidecar.client import GatewayClient, GatewayRejected

__all__ = ["Issued", "ForecastService", "day_ahead_window"]

_log = logging.getLogger("forecasting")

CONCURRENCY = 4  # targets in flight: requests of one overlap the models of another


def _run_models(target: Target, history: History, stamps: Stamps) -> dict[str, Array]:
    return {name: target.bound(model(history, stamps)) for name, model in target.models.items()}


@dataclass(frozen=True)
class Issued:
    target: str
    models: list[str]
    points: int
    day_ahead: bool
    error: str | None = None


def forecast_key(source: str, model: str) -> str:
    return f"forecast:{source}:{model}"


def day_ahead_window(now: datetime, timezone: str, hour: int) -> tuple[int, int] | None:
    """[start, end) in epoch ms of tomorrow (local) once it is `hour`:00 local today or
    later; None before that."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    if local.hour < hour:
        return None
    tomorrow = local.date() + timedelta(days=1)
    start = datetime.combine(tomorrow, datetime.min.time(), zone)
    end = datetime.combine(tomorrow + timedelta(days=1), datetime.min.time(), zone)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


class ForecastService:
    def __init__(self, gateway: GatewayClient, settings: Settings) -> None:
        self._gateway = gateway
        self._settings = settings

    def _series(self, target: Target, model: str, **labels: str) -> dict[str, object]:
        s = target.series
        horizon = labels.get("horizon")
        return {
            "key": forecast_key(target.key, model) + (f":{horizon.lower()}" if horizon else ""),
            "name": f"Forecast of {target.key} ({model}{', ' + horizon if horizon else ''})",
            "kind": s["kind"],
            "unit": s["unit"],
            "resolution": s["resolution"],
            "timezone": s["timezone"],
            "labels": {"forecast_of": target.key, "model": model, **labels},
            "source": "forecasting",
        }

    async def issue(self, target: Target, now: datetime) -> Issued:
        """Forecast the horizon after the target's newest data with every model: one request
        for the series, one ingest for the latest forecasts, one for the kept D+1 values."""
        settings = self._settings
        history = await read_history(self._gateway, target, now, settings.history_weeks)
        if len(history.values) < 2 * DAY_MS // history.step_ms:
            return Issued(target.key, [], 0, False, "less than two days of history")
        stamps = history.future(int(settings.horizon_hours * 3_600_000))
        # The models are CPU work (numpy, scikit-learn release the GIL): off the event loop,
        # so other targets' requests go on meanwhile.
        forecasts = await asyncio.to_thread(_run_models, target, history, stamps)
        window = day_ahead_window(now, target.local_zone, settings.day_ahead_hour)
        inside = (stamps >= window[0]) & (stamps < window[1]) if window is not None else stamps < 0
        latest = [self._series(target, name) for name in forecasts]
        kept = [self._series(target, name, horizon="D+1") for name in forecasts]
        await self._gateway.upsert_many(latest + (kept if inside.any() else []))
        points = await self._gateway.ingest_many(
            [(str(s["key"]), stamps, v) for s, v in zip(latest, forecasts.values(), strict=True)]
        )
        if inside.any():
            # IGNORE: the first issue after the day-ahead hour is kept for good.
            await self._gateway.ingest_many(
                [
                    (str(s["key"]), stamps[inside], v[inside])
                    for s, v in zip(kept, forecasts.values(), strict=True)
                ],
                on_conflict="IGNORE",
            )
        return Issued(target.key, list(forecasts), points, bool(inside.any()))

    async def issue_all(self, now: datetime | None = None) -> list[Issued]:
        now = now or datetime.now(UTC)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(target: Target) -> Issued:
            async with gate:
                try:
                    return await self.issue(target, now)
                except (GatewayRejected, ValueError) as exc:
                    return Issued(target.key, [], 0, False, str(exc))

        targets = await discover_targets(self._gateway, self._settings)
        return list(await asyncio.gather(*(one(t) for t in targets)))

    async def backtest(self, target: Target, now: datetime) -> list[Score]:
        s = self._settings
        weeks = s.history_weeks + s.backtest_weeks
        history: History = await read_history(self._gateway, target, now, weeks)
        if len(history.values) == 0:
            raise ValueError(f"{target.key}: no data")
        return backtest(
            target.key,
            history,
            target.models,
            horizon_ms=int(s.horizon_hours * 3_600_000),
            season_ms=target.season_ms,
            weeks=s.backtest_weeks,
            bound=target.bound,
        )

    async def store_scores(self, target: Target, scores: list[Score], now: datetime) -> None:
        """One KPI sample per metric, stamped at the backtest's hour."""
        stamp = np.array([int(now.timestamp()) // 3600 * 3_600_000], dtype=np.int64)
        for score in scores:
            for metric, value, unit in (
                ("mae", score.mae, target.series["unit"]),
                ("rmse", score.rmse, target.series["unit"]),
                ("mase", score.mase, "1"),
            ):
                if value is None or not np.isfinite(value):
                    continue
                key = f"backtest:{target.key}:{score.model}:{metric}"
                await self._gateway.upsert_series(
                    {
                        "key": key,
                        "kind": "KPI",
                        "unit": unit,
                        "labels": {
                            "forecast_of": target.key,
                            "model": score.model,
                            "metric": metric,
                            "backtest_weeks": self._settings.backtest_weeks,
                        },
                        "source": "forecasting",
                    }
                )
                await self._gateway.ingest(key, stamp, np.array([value]))

    async def backtest_all(self, now: datetime | None = None) -> list[Score]:
        now = now or datetime.now(UTC)
        scores: list[Score] = []
        for target in await discover_targets(self._gateway, self._settings):
            try:
                found = await self.backtest(target, now)
            except ValueError as exc:
                _log.warning("backtest of %s skipped: %s", target.key, exc)
                continue
            await self.store_scores(target, found, now)
            scores.extend(found)
        return scores

    async def run_forever(self) -> None:
        async def issue() -> None:
            for issued in await self.issue_all():
                _log.info("issued %s: %s", issued.target, issued.error or issued.points)

        await repeat_until_stopped(issue, self._settings.interval_seconds, _log)
