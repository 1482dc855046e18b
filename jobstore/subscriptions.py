"""Subscription use cases: each function is one transaction on a unit of work.

The rules are the domain's (`jobstore.domain.subscriptions`); here they meet storage. The
check loop (`jobstore.subscription_loop`) calls `check_due` in every replica; a person's "check
now" calls `check_subscription`; the job and collection use cases (`jobstore.service`,
`jobstore.collection_service`) tell `note_check` what a check job became, and a collection report
asks `held_entry_keys` which entries an earlier check already holds.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from jobstore.clock import Clock, utcnow
from jobstore.domain.errors import InvalidTransition
from jobstore.domain.model import Job
from jobstore.domain.subscriptions import Subscription, SubscriptionNotFound, check_running
from jobstore.domain.values import JobOptions, JobType
from jobstore.paging import after_newest, cut_page, newest_token
from jobstore.ports import UnitOfWork


@dataclass(frozen=True)
class NewSubscription:
    url: str
    type: JobType
    options: JobOptions
    max_items: int
    interval_seconds: int


@dataclass(frozen=True)
class SubscriptionChange:
    """What a person changes; None leaves a field as it is."""

    interval_seconds: int | None = None
    options: JobOptions | None = None
    max_items: int | None = None
    enabled: bool | None = None


@dataclass(frozen=True)
class SubscriptionPage:
    subscriptions: list[Subscription]
    next_page_token: str


@dataclass(frozen=True)
class CheckPolicy:
    """What every check job is created with: the server's attempts and collection cap."""

    max_attempts: int
    default_max_items: int


async def create_subscription(uow: UnitOfWork, cmd: NewSubscription, now: Clock = utcnow) -> Subscription:
    """Store a new subscription; its first check is due at once."""
    subscription = Subscription.create(
        cmd.url, cmd.type, cmd.options, cmd.max_items, cmd.interval_seconds, now()
    )
    async with uow:
        await uow.subscriptions.add(subscription)
        await uow.commit()
    return subscription


async def get_subscription(uow: UnitOfWork, subscription_id: uuid.UUID) -> Subscription:
    async with uow:
        return await _existing(uow, subscription_id)


async def list_subscriptions(uow: UnitOfWork, page_size: int, page_token: str) -> SubscriptionPage:
    """A page of subscriptions, newest first."""
    after = after_newest(page_token)
    async with uow:
        found = await uow.subscriptions.list_page(page_size + 1, after)
    return SubscriptionPage(*cut_page(found, page_size, newest_token))


async def update_subscription(
    uow: UnitOfWork, subscription_id: uuid.UUID, change: SubscriptionChange, now: Clock = utcnow
) -> Subscription:
    """Change the interval, options, cap, or pause (enabled false) and resume it."""
    async with uow:
        subscription = await _existing(uow, subscription_id, for_update=True)
        subscription.update(
            now(),
            interval_seconds=change.interval_seconds,
            options=change.options,
            max_items=change.max_items,
            enabled=change.enabled,
        )
        await uow.subscriptions.save(subscription)
        await uow.commit()
    return subscription


async def delete_subscription(uow: UnitOfWork, subscription_id: uuid.UUID) -> Subscription:
    """Remove the subscription; the jobs its checks created, and their files, stay."""
    async with uow:
        subscription = await _existing(uow, subscription_id, for_update=True)
        await uow.subscriptions.delete(subscription)
        await uow.commit()
    return subscription


async def check_subscription(
    uow: UnitOfWork, subscription_id: uuid.UUID, policy: CheckPolicy, now: Clock = utcnow
) -> tuple[Job, bool]:
    """Check now, paused or not: the new check job, and True; or, while the previous check is
    still unfinished, that check's job and False. The next check is due one interval later."""
    at = now()
    async with uow:
        subscription = await _existing(uow, subscription_id, for_update=True)
        last = await uow.jobs.get(subscription.last_job_id) if subscription.last_job_id else None
        if last is not None and check_running(last):
            return last, False
        due_at = subscription.next_check_at
        job = subscription.check_job(policy.max_attempts, policy.default_max_items, at)
        subscription.checked(job, at)
        if not await uow.subscriptions.claim(subscription, due_at):
            raise InvalidTransition("a check of this subscription has just started; try again")
        await uow.jobs.add(job)
        await uow.commit()
    return job, True


async def check_due(uow: UnitOfWork, policy: CheckPolicy, limit: int = 100, now: Clock = utcnow) -> list[Job]:
    """Claim the subscriptions due now and create their check jobs, in one transaction; returns
    the jobs created. One whose previous check is unfinished gets no new job; it is looked at
    again one interval later."""
    at = now()
    created: list[Job] = []
    async with uow:
        due = await uow.subscriptions.due(at, limit)
        for subscription in due:
            due_at = subscription.next_check_at
            last = await uow.jobs.get(subscription.last_job_id) if subscription.last_job_id else None
            if check_running(last):
                subscription.postpone(at)
                await uow.subscriptions.claim(subscription, due_at)
                continue
            job = subscription.check_job(policy.max_attempts, policy.default_max_items, at)
            subscription.checked(job, at)
            if await uow.subscriptions.claim(subscription, due_at):
                await uow.jobs.add(job)
                created.append(job)
        if due:
            await uow.commit()
    return created


async def note_check(uow: UnitOfWork, job: Job, at: datetime) -> None:
    """Inside a job use case's transaction: note on its subscription what a check job became
    (its collection's title, or the error of a failed attempt). Nothing for any other job."""
    if job.subscription_id is None:
        return
    subscription = await uow.subscriptions.get(job.subscription_id, for_update=True)
    if subscription is not None and subscription.note(job, at):
        await uow.subscriptions.save(subscription)


async def held_entry_keys(uow: UnitOfWork, job: Job) -> set[str]:
    """Inside ReportCollection's transaction: for a check job, the entries an earlier check of its
    subscription holds (queued, running, paused or completed), which this check must not repeat."""
    if job.subscription_id is None:
        return set()
    return await uow.subscriptions.held_entry_keys(job.subscription_id, job.id)


async def _existing(uow: UnitOfWork, subscription_id: uuid.UUID, *, for_update: bool = False) -> Subscription:
    subscription = await uow.subscriptions.get(subscription_id, for_update=for_update)
    if subscription is None:
        raise SubscriptionNotFound(subscription_id)
    return subscription
