"""The subscription check loop: every replica runs one, and the database decides who checks what.

Each pass claims the subscriptions that are due (see `jobstore.adapters.subscriptions`) and
creates their check jobs, so a subscription is checked once per interval whatever the number
of replicas, and no replica is a leader that could die with the duty.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from jobstore import subscriptions
from jobstore.loops import backed_off
from jobstore.ports import UnitOfWork

log = structlog.get_logger(__name__)


class SubscriptionLoop:
    """Check due subscriptions every `period` seconds (backing off while the database is away)."""

    def __init__(
        self, uow_factory: Callable[[], UnitOfWork], policy: subscriptions.CheckPolicy, period: float
    ) -> None:
        self._uow = uow_factory
        self._policy = policy
        self._period = period

    async def run(self) -> None:
        delay = self._period
        while True:
            try:
                await self.pass_once()
                delay = self._period
            except Exception as exc:
                delay = backed_off(delay)
                log.warning("subscription check pass failed", error=str(exc), retry_in=delay)
            await asyncio.sleep(delay)

    async def pass_once(self) -> int:
        created = await subscriptions.check_due(self._uow(), self._policy)
        for job in created:
            log.info("subscription checked", subscription_id=str(job.subscription_id), job_id=str(job.id))
        return len(created)
