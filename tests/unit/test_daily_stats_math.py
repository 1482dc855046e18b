"""The pure arithmetic of the daily figures: percentiles from neighbours, and which days a rollup redoes."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta

import pytest

from jobstore.domain.stats import (
    MEDIAN,
    P95,
    DailyStats,
    StatsFigures,
    days_to_refresh,
    interpolate,
    rank_position,
    window_totals,
)


def percentile(values: list[float], quantile: float) -> float:
    """What the repository does: sort, pick the neighbours around the rank, interpolate."""
    ordered = sorted(values)
    lower, fraction = rank_position(quantile, len(ordered))
    return interpolate(ordered[lower : lower + 2], fraction)


@pytest.mark.parametrize(
    "values",
    [
        [7.0],
        [10.0, 30.0],
        [20.0, 60.0, 100.0],
        [3.5, 1.25, 9.0, 2.0, 40.0],
        [float(n) for n in range(1, 101)],
    ],
)
def test_median_and_p95_match_linear_interpolation_between_closest_ranks(values: list[float]) -> None:
    assert percentile(values, MEDIAN) == round(statistics.median(values), 3)
    if len(values) > 1:
        expected = statistics.quantiles(values, n=100, method="inclusive")[94]
        assert percentile(values, P95) == pytest.approx(round(expected, 3), abs=1e-9)
    else:
        assert percentile(values, P95) == values[0]


def test_percentiles_are_rounded_to_the_millisecond_and_never_negative() -> None:
    assert percentile([9.99999997, 10.0000001], MEDIAN) == 10.0
    assert percentile([-0.004, -0.002], MEDIAN) == 0.0


NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_the_first_rollup_fills_in_every_day_since_the_first_job_finished() -> None:
    first = datetime(2026, 11, 20, 23, 59, tzinfo=UTC)
    assert days_to_refresh(None, first, NOW) == [date(2026, 11, d) for d in range(20, 25)]
    assert days_to_refresh(None, None, NOW) == [date(2026, 11, 24)]


def test_later_rollups_redo_today_and_the_day_of_the_previous_one_within_the_margin() -> None:
    assert days_to_refresh(NOW - timedelta(minutes=1), None, NOW) == [date(2026, 11, 24)]
    just_after_midnight = datetime(2026, 11, 24, 0, 3, tzinfo=UTC)
    assert days_to_refresh(just_after_midnight, None, NOW) == [date(2026, 11, 23), date(2026, 11, 24)]
    # A previous rollup stamped ahead of this replica's clock still leaves today to redo.
    assert days_to_refresh(NOW + timedelta(days=1), None, NOW) == [date(2026, 11, 24)]


def test_totals_add_up_the_days_and_take_the_window_percentiles_as_given() -> None:
    days = [
        DailyStats(date(2026, 11, 23), StatsFigures(2, 1, 1, 3000, 20.0, 29.0, 1)),
        DailyStats(date(2026, 11, 24), StatsFigures(3, 0, 0, 1500, 60.0, 96.0, 1)),
    ]
    assert window_totals(days, 45.0, 94.0) == StatsFigures(5, 1, 1, 4500, 45.0, 94.0, 2)
