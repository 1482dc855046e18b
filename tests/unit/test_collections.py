"""Collections' pure rules: the items syntax, and how a parent's status and progress follow its
children's."""

from __future__ import annotations

import pytest

from jobstore.domain import validation
from jobstore.domain.collections import ChildCounts, CollectionSummary, items_problem
from jobstore.domain.errors import InvalidInput
from jobstore.domain.model import JobStatus

Q, R, P = JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.PAUSED
C, F, X = JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED


@pytest.mark.parametrize("items", ["", "1", "1-10,15", "-2", "1:5", "::2", "-3:", "2:-1:1", "1,2,3"])
def test_playlist_items_syntax_is_accepted(items: str) -> None:
    assert items_problem(items) is None


@pytest.mark.parametrize(
    "items",
    ["0", "1-", "a", "1;2", "1-10,", ",1", "1 -2", "--1", "1-2-3", "1e3", "1234567", "1,\x00", "-", "9-x"],
)
def test_anything_else_is_refused(items: str) -> None:
    assert items_problem(items) is not None
    with pytest.raises(InvalidInput):
        validation.items(items)


def test_items_text_is_bounded() -> None:
    assert items_problem(",".join(["1"] * 100)) is None  # 199 characters
    assert "longer than 200" in str(items_problem(",".join(["12"] * 100)))


@pytest.mark.parametrize(
    ("counts", "status"),
    [
        ({Q: 1, C: 5}, R),
        ({R: 1, P: 3}, R),
        ({P: 2, C: 1, F: 1}, P),
        ({C: 3}, C),
        ({C: 2, X: 1}, C),
        ({C: 2, F: 1}, F),
        ({X: 2, F: 1}, F),
        ({X: 3}, X),
        ({}, C),
    ],
)
def test_a_parent_status_follows_its_children(counts: dict[JobStatus, int], status: JobStatus) -> None:
    assert ChildCounts(counts).status() is status


def test_parent_progress_is_the_mean_with_finished_children_at_100() -> None:
    # Two running at 20 and 40 (sum 60), one completed, one failed.
    assert ChildCounts({R: 2, C: 1, F: 1}, unfinished_progress=60.0).progress() == pytest.approx(65.0)
    assert ChildCounts({}).progress() == 100.0


def test_a_summary_takes_new_counts_and_keeps_what_the_source_said() -> None:
    summary = CollectionSummary(title="Feed", listed=9, truncated=True, skipped=1)
    counted = summary.counted(ChildCounts({Q: 2, F: 1}))
    assert (counted.total, counted.queued, counted.failed, counted.running) == (3, 2, 1, 0)
    assert (counted.title, counted.listed, counted.truncated, counted.skipped) == ("Feed", 9, True, 1)
    assert CollectionSummary.from_json(counted.to_json()) == counted
    assert CollectionSummary.from_json(None) is None
