"""Hands queued jobs to RQ, and puts back the ones RQ lost.

The RQ job id is `haul-{job id}-a{attempt}`, where attempt is the number the next claim will
get, so each attempt is enqueued at most once. `ensure_enqueued` is both the dispatcher and
the reconciler: for every job the database says is queued it checks what RQ holds under that
id, and enqueues it again when RQ has nothing pending (a crash between commit and enqueue,
a flushed or restarted Redis, or a job a worker picked up while it was paused).
"""

from __future__ import annotations

import contextlib
import math
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import structlog
from redis import Redis
from rq import Queue
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job as RqJob
from rq.serializers import JSONSerializer
from rq.utils import utcparse

log = structlog.get_logger(__name__)

TASK = "worker.tasks.run_job"
PENDING_STATES = frozenset({"queued", "deferred", "scheduled"})
RESULT_TTL = 3600
FAILURE_TTL = 24 * 3600
# RQ's timeout for an attempt exceeds the maximum job duration by this much, so the worker's
# own budget fires first: it fails the job as TIME_LIMIT and removes the partial files, which a
# horse killed by RQ would leave behind. RQ's timeout is the backstop for a horse that hangs.
RQ_TIMEOUT_MARGIN = 60


def rq_job_timeout(max_job_duration: float) -> int:
    """RQ's timeout, in whole seconds, for one attempt of a job allowed `max_job_duration`."""
    return math.ceil(max_job_duration) + RQ_TIMEOUT_MARGIN


def rq_job_id(job_id: uuid.UUID, attempt: int) -> str:
    return f"haul-{job_id}-a{attempt}"


class RqDispatcher:
    def __init__(self, redis_url: str, queue_name: str, max_job_duration: float, claim_grace: float) -> None:
        self._redis = Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self.queue = Queue(queue_name, connection=self._redis, serializer=JSONSerializer)
        self._job_timeout = rq_job_timeout(max_job_duration)
        # A started RQ job whose row is still queued this long after it started died before claiming.
        self._claim_grace = claim_grace

    def ensure_enqueued(self, queued: Sequence[tuple[uuid.UUID, int]]) -> int:
        """Make sure RQ holds a pending job for each (job id, next attempt); returns how many it added."""
        ids = [rq_job_id(job_id, attempt) for job_id, attempt in queued]
        pipe = self._redis.pipeline(transaction=False)
        for rq_id in ids:
            pipe.hmget(RqJob.key_for(rq_id), "status", "started_at")
        states = pipe.execute()
        added = 0
        for (job_id, attempt), rq_id, (status, started_at) in zip(queued, ids, states, strict=True):
            state = status.decode() if status else None
            if state in PENDING_STATES or (state == "started" and not self._claim_overdue(started_at)):
                continue
            if state is not None:
                self._discard(rq_id)
            if self._enqueue(job_id, attempt, rq_id):
                added += 1
                log.info("job enqueued", job_id=str(job_id), rq_job_id=rq_id, replaced=state)
        return added

    def depth(self) -> int:
        return int(self.queue.count)

    def ping(self) -> bool:
        return bool(self._redis.ping())

    def close(self) -> None:
        self._redis.close()

    def _claim_overdue(self, started_at: bytes | None) -> bool:
        if not started_at:
            return True
        started = utcparse(started_at.decode()).replace(tzinfo=UTC)
        return (datetime.now(UTC) - started).total_seconds() > self._claim_grace

    def _discard(self, rq_id: str) -> None:
        with contextlib.suppress(NoSuchJobError):
            RqJob.fetch(rq_id, connection=self._redis, serializer=JSONSerializer).delete()

    def _enqueue(self, job_id: uuid.UUID, attempt: int, rq_id: str) -> bool:
        try:
            self.queue.enqueue_call(
                TASK,
                kwargs={"job_id": str(job_id), "attempt": attempt},
                job_id=rq_id,
                timeout=self._job_timeout,
                result_ttl=RESULT_TTL,
                failure_ttl=FAILURE_TTL,
                description=f"haul job {job_id} attempt {attempt}",
                unique=True,
            )
        except DuplicateJobError:
            return False  # another jobstore replica enqueued it a moment ago
        return True
