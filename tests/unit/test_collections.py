"""Collections' pure rules: the items syntax, and how a parent's status and progress follow its
children's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from haul.contract import from_proto
from jobstore.domain import validation
from jobstore.domain.collections import ChildCounts, CollectionEntry, CollectionSummary, items_problem
from jobstore.domain.errors import InvalidInput
from jobstore.domain.model import Job, JobStatus
from jobstore.domain.values import JobOptions, JobType
from jobstore.grpcapi.convert import job_to_pb

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


def test_rest_shows_a_child_its_parent_and_a_parent_its_counts() -> None:
    now = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
    parent = Job.create("https://media.example/feed.xml", JobType.AUTO, JobOptions(), 3, now)
    single = from_proto.job(job_to_pb(parent)).wire()
    assert (single["parentId"], single["entryIndex"], single["collection"]) == (None, None, None)

    parent.collection = CollectionSummary(title="Feed", total=2, queued=1, failed=1, listed=5, truncated=True)
    shown = from_proto.job(job_to_pb(parent)).wire()["collection"]
    assert shown == {
        "title": "Feed", "total": 2, "queued": 1, "running": 0, "paused": 0, "completed": 0, "failed": 1,
        "cancelled": 0, "skipped": 0, "listed": 5, "truncated": True,
    }  # fmt: skip
    child = parent.entry(CollectionEntry("k", "https://media.example/1.mp3", "One", 1), now)
    body = from_proto.job(job_to_pb(child)).wire()
    assert (body["parentId"], body["entryIndex"], body["collection"]) == (str(parent.id), 1, None)
