"""Subscriptions ("check this channel or feed for new items"), free of any I/O.

A subscription is a row with a due time. When it is due, one jobstore replica claims it, moves
the due time one interval on and, in the same transaction, creates the check: a collection job
for the subscription's URL that dispatches like any job. What the check job becomes is noted
back on the subscription: the collection's title once it is listed, or the error that stopped it.
A check that has not listed its source yet is not repeated, so a slow source never gets two
checks at once; an entry that an earlier check holds (queued, running, paused or completed) is
never given a second job.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from jobstore.domain.errors import InvalidInput, JobNotFound
from jobstore.domain.model import TERMINAL_STATUSES, Job, JobStatus
from jobstore.domain.values import JobOptions, JobType

# The interval when a caller gives none: hourly, or the floor when that is longer.
DEFAULT_INTERVAL = 3600
# A year: far above any useful interval, and within a 32-bit column.
MAX_INTERVAL = 366 * 24 * 3600
# A check whose job completed as a single download: the source listed no entries. Checking it
# again would download the same file again, so the subscription is paused.
NOT_A_COLLECTION = "NOT_A_COLLECTION"
NOT_A_COLLECTION_MESSAGE = (
    "the source was downloaded as one file, not listed as a channel, playlist or feed; "
    "the subscription is paused so that it is not downloaded again"
)


class SubscriptionNotFound(JobNotFound):
    """No such subscription. A kind of "not found", so callers answer it as they answer a
    missing job (gRPC NOT_FOUND, HTTP 404)."""

    def __init__(self, subscription_id: object) -> None:
        Exception.__init__(self, f"subscription {subscription_id} not found")


def interval(value: int, floor: int) -> int:
    """A caller's interval in seconds, checked against the floor (HAUL_SUBSCRIPTION_MIN_INTERVAL);
    0 means the default."""
    if value == 0:
        return max(DEFAULT_INTERVAL, floor)
    if value < floor:
        raise InvalidInput(
            f"interval_seconds must be at least {floor} (the server's HAUL_SUBSCRIPTION_MIN_INTERVAL)"
        )
    if value > MAX_INTERVAL:
        raise InvalidInput(f"interval_seconds must be at most {MAX_INTERVAL}")
    return value


@dataclass
class Subscription:
    id: uuid.UUID
    url: str
    type: JobType
    # The options every check's collection is created with; the cap is `max_items`.
    options: JobOptions
    # The most entries one check takes; 0: the server's HAUL_COLLECTION_MAX_ITEMS.
    max_items: int
    interval_seconds: int
    enabled: bool
    next_check_at: datetime
    created_at: datetime
    updated_at: datetime
    title: str = ""
    last_checked_at: datetime | None = None
    # "CODE: message" of the last check that failed; empty once a later check listed the source.
    last_error: str = ""
    last_job_id: uuid.UUID | None = None

    @classmethod
    def create(
        cls,
        url: str,
        type: JobType,
        options: JobOptions,
        max_items: int,
        interval_seconds: int,
        now: datetime,
    ) -> Subscription:
        """A new, enabled subscription; its first check is due at once."""
        return cls(
            id=uuid.uuid4(),
            url=url,
            type=type,
            options=dataclasses.replace(options, max_items=0),
            max_items=max_items,
            interval_seconds=interval_seconds,
            enabled=True,
            next_check_at=now,
            created_at=now,
            updated_at=now,
        )

    def check_job(self, max_attempts: int, default_max_items: int, now: datetime) -> Job:
        """The collection job of one check, created queued, knowing its subscription."""
        options = dataclasses.replace(self.options, max_items=self.max_items or default_max_items)
        job = Job.create(self.url, self.type, options, max_attempts, now)
        job.subscription_id = self.id
        return job

    def checked(self, job: Job, now: datetime) -> None:
        """A check started with `job`: the next one is due one interval from now."""
        self.last_job_id = job.id
        self.last_checked_at = now
        self.next_check_at = now + timedelta(seconds=self.interval_seconds)
        self.updated_at = now

    def postpone(self, now: datetime) -> None:
        """Due, but the previous check is still running: look again one interval from now."""
        self.next_check_at = now + timedelta(seconds=self.interval_seconds)
        self.updated_at = now

    def note(self, job: Job, now: datetime) -> bool:
        """What the check job `job` became, noted: a listed collection clears the last error and
        gives the title; a failed attempt before any listing records its error, and so does a
        check that completed as a single download (NOT_A_COLLECTION), which also pauses the
        subscription: every later check would download that file again. True when it changed
        anything."""
        before = (self.title, self.last_error, self.enabled)
        if job.collection is not None:
            self.last_error = ""
            self.title = job.collection.title or self.title
        elif job.error_code and job.status in (JobStatus.FAILED, JobStatus.QUEUED):
            self.last_error = (
                f"{job.error_code}: {job.error_message}" if job.error_message else job.error_code
            )
        elif job.status is JobStatus.COMPLETED:
            # The worker found one file where a channel, playlist or feed was expected.
            self.last_error = f"{NOT_A_COLLECTION}: {NOT_A_COLLECTION_MESSAGE}"
            self.enabled = False
        changed = (self.title, self.last_error, self.enabled) != before
        if changed:
            self.updated_at = now
        return changed

    def update(
        self,
        now: datetime,
        *,
        interval_seconds: int | None = None,
        options: JobOptions | None = None,
        max_items: int | None = None,
        enabled: bool | None = None,
    ) -> None:
        """A person's change. A new interval moves the due time to one new interval after the
        last check (or now, when that passed)."""
        if interval_seconds is not None and interval_seconds != self.interval_seconds:
            self.interval_seconds = interval_seconds
            start = self.last_checked_at or now
            self.next_check_at = max(now, start + timedelta(seconds=interval_seconds))
        if options is not None:
            self.options = dataclasses.replace(options, max_items=0)
        if max_items is not None:
            self.max_items = max_items
        if enabled is not None:
            # A due time that passed while paused makes the resumed subscription due at once.
            self.enabled = enabled
        self.updated_at = now


def check_running(last_job: Job | None) -> bool:
    """Whether a subscription's last check is still unfinished: its job is not terminal and has
    not listed the source yet. Once it has, the check is done and its children are ordinary
    downloads; the next check skips the entries they hold (`held_entry_keys`), so new items are
    not held back by a long first download."""
    return last_job is not None and last_job.status not in TERMINAL_STATUSES and last_job.collection is None
