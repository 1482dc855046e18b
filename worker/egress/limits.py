"""The guard's limits: its timeouts, its counters, and each job's cap on open connections."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from worker.egress.http import HttpError


@dataclass(frozen=True)
class EgressTimeouts:
    """Seconds. `cap_wait`: how long a request waits for one of its job's connection slots before
    429; `tunnel_grace`: how long one direction of a tunnel may go on after the other finished."""

    cap_wait: float = 30.0
    connect: float = 10.0
    request_head: float = 30.0
    response_head: float = 120.0
    tunnel_grace: float = 60.0


@dataclass
class EgressStats:
    allowed: int = 0  # origin connections opened
    refused: int = 0  # requests refused by the policy (403)
    failed: int = 0  # requests answered 502 or 504
    unresolved: int = 0  # of those, names the resolver says do not exist (no later attempt helps)
    rejected: int = 0  # requests answered 400, 407 or 429
    active: int = 0  # connections being relayed now


class JobSlots:
    """At most `limit` concurrent origin connections per job. A request beyond the cap waits for a
    slot up to `wait` seconds, then fails with 429."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, job_id: str, wait: float) -> AsyncIterator[None]:
        slots = self._slots.setdefault(job_id, asyncio.Semaphore(self.limit))
        self._users[job_id] = self._users.get(job_id, 0) + 1
        try:
            try:
                async with asyncio.timeout(wait):
                    await slots.acquire()
            except TimeoutError:
                raise HttpError(429, f"job {job_id} already has {self.limit} connections open") from None
            try:
                yield
            finally:
                slots.release()
        finally:
            self._users[job_id] -= 1
            if not self._users[job_id]:
                del self._users[job_id], self._slots[job_id]
