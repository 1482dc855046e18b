"""Daily figures of finished jobs, the `daily_stats` table, and the arithmetic behind them.

What each figure means (the README repeats it for users):

- A job counts on the UTC day its `finished_at` falls in, under its terminal status
  (completed, failed, cancelled), as the jobs table says when the day's row is computed.
- `bytes_downloaded` sums the final `size` of completed jobs: bytes delivered. A failed or
  cancelled job's `downloaded_bytes` is left out: it covers only its last attempt, a resumed
  attempt re-reports the bytes from before the pause, and a retry resets it, so it would be
  neither complete nor free of double counting.
- Durations are `finished_at - started_at` of completed jobs: the successful attempt's time,
  from its claim to its completion. Time spent queued, paused or in earlier attempts is not
  in it (that depends on how many workers there are, not on how fast downloads are).
- `retries` counts the times a job was queued again after an attempt ended without success,
  from the job's history: `running -> queued` (a retryable failure or a stall) and
  `failed|cancelled -> queued` (a person's retry), on the day it happened. A resume is not a
  retry, nor is the re-queue of a job left running by a restart of a single machine (it
  resumes, and its attempt is not counted against it). `attempt - 1` would also count the
  claims that follow a pause and resume.

A day's row is recomputed while the day may still change (see `days_to_refresh`), then left
as it is: deleting old jobs, or retrying a job that failed on a closed day, does not rewrite
history.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

MEDIAN = 0.5
P95 = 0.95
# A job's finished_at is stamped before its transaction commits, and replicas' clocks differ a
# little: a rollup looks back this far behind the previous one, so no such job is missed.
LATE_COMMIT_MARGIN = timedelta(minutes=5)
# Durations are reported to the millisecond (SQLite keeps timestamps' milliseconds only).
DURATION_DECIMALS = 3


@dataclass(frozen=True)
class StatsFigures:
    """The figures of the jobs finished over one span of time (a day, or a window of days)."""

    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    bytes_downloaded: int = 0
    median_duration_seconds: float | None = None
    p95_duration_seconds: float | None = None
    retries: int = 0


@dataclass(frozen=True)
class DailyStats:
    day: date
    figures: StatsFigures


@dataclass(frozen=True)
class StatsReport:
    """What GetStats answers: one entry per day, oldest first, and the window's totals."""

    days: list[DailyStats]
    totals: StatsFigures


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC day as a half-open interval [start, end)."""
    start = datetime.combine(day, time.min, UTC)
    return start, start + timedelta(days=1)


def days_from(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def days_to_refresh(
    last_rollup: datetime | None, first_activity: datetime | None, now: datetime
) -> list[date]:
    """The days whose rows a rollup at `now` must recompute, oldest first.

    After a previous rollup: today, and every day back to the one the previous rollup ran in
    (less the margin), which holds every job finished since then. The first rollup of all
    fills in every day since the first job finished, so history before the table existed
    is kept too.
    """
    today = now.date()
    if last_rollup is not None:
        first = (last_rollup - LATE_COMMIT_MARGIN).date()
    elif first_activity is not None:
        first = first_activity.date()
    else:
        first = today
    return days_from(min(first, today), today)


def rank_position(quantile: float, count: int) -> tuple[int, float]:
    """Where the quantile of `count` sorted values lies: the 0-based index of its lower
    neighbour and the fraction of the way to the next one.

    Linear interpolation between closest ranks, as PostgreSQL's `percentile_cont` and
    `statistics.quantiles(method="inclusive")` do; the median of an even count is the mean of
    the middle two.
    """
    position = quantile * (count - 1)
    lower = math.floor(position)
    return lower, position - lower


def interpolate(neighbours: Sequence[float], fraction: float) -> float:
    """The value `fraction` of the way from the first neighbour to the second, to the millisecond.

    Never below zero: a claim and a completion stamped by two replicas whose clocks differ can
    make a very short attempt look negative.
    """
    value = neighbours[0]
    if fraction > 0 and len(neighbours) > 1:
        value += (neighbours[1] - neighbours[0]) * fraction
    return max(0.0, round(value, DURATION_DECIMALS))


def window_totals(days: Sequence[DailyStats], median: float | None, p95: float | None) -> StatsFigures:
    """The sums of the days' counts, with percentiles computed over the window as a whole
    (percentiles of days do not combine into the percentile of their union)."""
    figures = [d.figures for d in days]
    return StatsFigures(
        completed=sum(f.completed for f in figures),
        failed=sum(f.failed for f in figures),
        cancelled=sum(f.cancelled for f in figures),
        bytes_downloaded=sum(f.bytes_downloaded for f in figures),
        median_duration_seconds=median,
        p95_duration_seconds=p95,
        retries=sum(f.retries for f in figures),
    )
