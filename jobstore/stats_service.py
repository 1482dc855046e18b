"""Use cases of the daily figures (jobstore.domain.stats): the rollup loop stores them, GetStats
reads them; both recompute first the days that may have changed since the last rollup."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from jobstore.clock import Clock, utcnow
from jobstore.domain.stats import (
    DailyStats,
    StatsFigures,
    StatsReport,
    day_bounds,
    days_from,
    days_to_refresh,
    window_totals,
)
from jobstore.ports import UnitOfWork


async def roll_up_stats(uow: UnitOfWork, now: Clock = utcnow) -> list[date]:
    """Recompute and store the daily figures of every day that may have changed since the last
    rollup (today, and the days jobs finished on since); returns those days."""
    async with uow:
        days = await _refresh_stats(uow, now())
        await uow.commit()
    return days


async def get_stats(uow: UnitOfWork, days: int, now: Clock = utcnow) -> StatsReport:
    """The figures of the last `days` UTC days, oldest first, and of the window as a whole.

    The days that may have changed since the last rollup, today included, are recomputed
    first, so the answer is current.
    """
    at = now()
    last = at.date()
    first = last - timedelta(days=days - 1)
    async with uow:
        await _refresh_stats(uow, at)
        stored = {d.day: d.figures for d in await uow.stats.stored(first, last)}
        median, p95 = await uow.stats.duration_percentiles(day_bounds(first)[0], day_bounds(last)[1])
        await uow.commit()
    series = [DailyStats(day, stored.get(day, StatsFigures())) for day in days_from(first, last)]
    return StatsReport(series, window_totals(series, median, p95))


async def _refresh_stats(uow: UnitOfWork, at: datetime) -> list[date]:
    last_rollup = await uow.stats.last_rollup()
    first_activity = None if last_rollup is not None else await uow.stats.first_activity()
    days = days_to_refresh(last_rollup, first_activity, at)
    await uow.stats.store([DailyStats(day, await uow.stats.compute(*day_bounds(day))) for day in days], at)
    return days
