"""Subscriptions' pure rules: the interval floor, what a check job's outcome notes, due times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobstore.domain.collections import CollectionSummary
from jobstore.domain.errors import InvalidInput
from jobstore.domain.model import JobStatus
from jobstore.domain.subscriptions import DEFAULT_INTERVAL, Subscription, check_running, interval
from jobstore.domain.values import JobOptions, JobType

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def subscription(every: int = 60) -> Subscription:
    return Subscription.create(
        "https://media.example/feed.xml", JobType.AUDIO, JobOptions(max_items=9), 0, every, NOW
    )


def test_the_interval_floor_is_enforced_and_named() -> None:
    assert interval(900, 900) == 900
    assert interval(0, 900) == DEFAULT_INTERVAL
    assert interval(0, 7200) == 7200, "the default never goes below the floor"
    with pytest.raises(InvalidInput, match="at least 900"):
        interval(899, 900)
    with pytest.raises(InvalidInput, match="at most"):
        interval(10**9, 1)


def test_a_new_subscription_is_due_at_once_and_a_check_moves_it_one_interval_on() -> None:
    sub = subscription()
    assert sub.enabled and sub.next_check_at == NOW and sub.options.max_items == 0
    job = sub.check_job(3, 500, NOW)
    assert (job.subscription_id, job.url, job.type, job.options.max_items) == (
        sub.id,
        sub.url,
        JobType.AUDIO,
        500,
    )
    sub.checked(job, NOW)
    assert (sub.last_job_id, sub.last_checked_at, sub.next_check_at) == (
        job.id,
        NOW,
        NOW + timedelta(seconds=60),
    )


def test_a_check_runs_until_it_lists_the_source_or_ends() -> None:
    sub = subscription()
    job = sub.check_job(3, 500, NOW)
    assert not check_running(None)
    assert check_running(job)
    job.collection = CollectionSummary(title="Feed")
    assert not check_running(job), "listed: the check is done, its entries are downloads"
    failed = sub.check_job(3, 500, NOW)
    failed.status = JobStatus.FAILED
    assert not check_running(failed)


def test_a_failure_is_noted_until_a_listing_clears_it_and_names_the_source() -> None:
    sub = subscription()
    job = sub.check_job(3, 500, NOW)
    job.status, job.error_code, job.error_message = JobStatus.FAILED, "COLLECTION_UNREADABLE", "not a feed"
    assert sub.note(job, NOW)
    assert sub.last_error == "COLLECTION_UNREADABLE: not a feed"
    assert not sub.note(job, NOW), "noting the same outcome again changes nothing"
    listed = sub.check_job(3, 500, NOW)
    listed.collection = CollectionSummary(title="A podcast")
    assert sub.note(listed, NOW)
    assert (sub.last_error, sub.title) == ("", "A podcast")


def test_a_new_interval_counts_from_the_last_check() -> None:
    sub = subscription(60)
    sub.checked(sub.check_job(3, 500, NOW), NOW)
    later = NOW + timedelta(seconds=30)
    sub.update(later, interval_seconds=3600, enabled=False, max_items=4)
    assert sub.next_check_at == NOW + timedelta(seconds=3600)
    assert (sub.enabled, sub.max_items, sub.updated_at) == (False, 4, later)
    sub.update(NOW + timedelta(hours=5), interval_seconds=600)
    assert sub.next_check_at == NOW + timedelta(hours=5), "a due time already passed is now"


def test_a_check_that_completed_as_one_file_is_an_error_and_pauses_the_subscription() -> None:
    sub = subscription()
    job = sub.check_job(3, 500, NOW)
    job.status = JobStatus.COMPLETED
    assert sub.note(job, NOW)
    assert sub.last_error.startswith("NOT_A_COLLECTION: ") and "paused" in sub.last_error
    assert not sub.enabled, "each later check would download the same file again"
