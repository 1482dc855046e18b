"""The subscription repository on SQLAlchemy Core, for PostgreSQL and SQLite alike.

Claiming due rows is the one place where several jobstore replicas race: on PostgreSQL the
due rows are read `FOR UPDATE SKIP LOCKED`, so a replica never waits for, nor takes, a row
another one is checking; on both databases the claim itself is an UPDATE conditional on the
due time read, so a row whose due time moved meanwhile is not claimed twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from jobstore.adapters.repository import as_utc
from jobstore.adapters.tables import jobs, subscriptions
from jobstore.domain.model import JobStatus
from jobstore.domain.subscriptions import Subscription
from jobstore.domain.values import JobOptions, JobType
from jobstore.ports import ListCursor

# A child that holds its entry for the subscription: being downloaded, or downloaded.
HOLDING = [s.value for s in (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.PAUSED, JobStatus.COMPLETED)]
TIMESTAMPS = ("next_check_at", "last_checked_at", "created_at", "updated_at")


def to_row(subscription: Subscription) -> dict[str, Any]:
    row = {column.name: getattr(subscription, column.name) for column in subscriptions.c}
    row["type"] = subscription.type.value
    row["options"] = subscription.options.to_json()
    return row


def from_row(row: Mapping[Any, Any]) -> Subscription:
    fields = {column.name: row[column.name] for column in subscriptions.c}
    fields["type"] = JobType(fields["type"])
    fields["options"] = JobOptions.from_json(fields["options"])
    for name in TIMESTAMPS:
        fields[name] = as_utc(fields[name])
    return Subscription(**fields)


class SqlSubscriptionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, subscription: Subscription) -> None:
        await self._conn.execute(subscriptions.insert().values(to_row(subscription)))

    async def get(self, subscription_id: uuid.UUID, *, for_update: bool = False) -> Subscription | None:
        query = subscriptions.select().where(subscriptions.c.id == subscription_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else from_row(row)

    async def list_page(self, limit: int, after: ListCursor | None) -> list[Subscription]:
        query = (
            subscriptions.select()
            .order_by(subscriptions.c.created_at.desc(), subscriptions.c.id.desc())
            .limit(limit)
        )
        if after is not None:
            created, last_id = after
            query = query.where(
                sa.or_(
                    subscriptions.c.created_at < created,
                    sa.and_(subscriptions.c.created_at == created, subscriptions.c.id < last_id),
                )
            )
        return [from_row(row) for row in (await self._conn.execute(query)).mappings()]

    async def due(self, now: datetime, limit: int) -> list[Subscription]:
        query = (
            subscriptions.select()
            .where(subscriptions.c.enabled.is_(True), subscriptions.c.next_check_at <= now)
            .order_by(subscriptions.c.next_check_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [from_row(row) for row in (await self._conn.execute(query)).mappings()]

    async def claim(self, subscription: Subscription, due_at: datetime) -> bool:
        """Store the subscription if its due time is still `due_at`; False when another replica
        moved it first (then nothing is written)."""
        row = to_row(subscription)
        del row["id"]
        result = await self._conn.execute(
            subscriptions.update()
            .where(subscriptions.c.id == subscription.id, subscriptions.c.next_check_at == due_at)
            .values(row)
        )
        return result.rowcount == 1

    async def save(self, subscription: Subscription) -> None:
        row = to_row(subscription)
        del row["id"]
        await self._conn.execute(
            subscriptions.update().where(subscriptions.c.id == subscription.id).values(row)
        )

    async def delete(self, subscription: Subscription) -> None:
        """Remove the subscription; its jobs stay, no longer knowing it."""
        await self._conn.execute(
            jobs.update().where(jobs.c.subscription_id == subscription.id).values(subscription_id=None)
        )
        await self._conn.execute(subscriptions.delete().where(subscriptions.c.id == subscription.id))

    async def held_entry_keys(self, subscription_id: uuid.UUID, except_parent: uuid.UUID) -> set[str]:
        """The entry keys that an earlier check of the subscription already holds: a child that
        is queued, running, paused or completed."""
        parents = sa.select(jobs.c.id).where(
            jobs.c.subscription_id == subscription_id, jobs.c.id != except_parent
        )
        query = sa.select(jobs.c.entry_key).where(
            jobs.c.parent_id.in_(parents), jobs.c.status.in_(HOLDING), jobs.c.entry_key.is_not(None)
        )
        return {key for key in (await self._conn.execute(query)).scalars() if key is not None}
