"""Hands queued jobs to RQ, and puts back the ones RQ lost.

The RQ job id is `haul-{job id}-a{attempt}`, where attempt is the number the next claim will
get, so each attempt is enqueued at most once. `ensure_enqueued` is both the dispatcher and
the reconciler: for every job the database says is queued it checks what RQ holds under that
id, and enqueues it again when RQ has nothing pending (a crash between commit and enqueue,
a flushed or restarted Redis, or a job a worker picked up while it was paused).

An RQ job whose hash says "queued" is pending only while its id is in the queue list. A worker
takes the id off that list first (RQ 3 moves it with BLMOVE to `<queue>:intermediate`; with
several queues, or Redis before 6.2, it pops it with BLPOP) and only later, in the work horse,
marks the job started. A worker killed in between leaves a hash that says "queued" forever and
an id no worker will ever pop. RQ's own repair (`IntermediateQueue.cleanup`, run by a worker's
maintenance every 600 s, acting on its second sighting a minute later) takes 10 to 20 minutes,
needs a live worker, and never sees an id popped with BLPOP. So the reconciler checks the list
itself: a queued RQ job whose id has been in no queue list for `dequeue_grace` seconds is
enqueued again (its stale id taken off the intermediate list, so RQ's cleanup cannot fail the
new copy). The grace covers a live worker between its pop and the start, which takes well under
a second; until then the job is left alone, so a job a worker is about to start is never
enqueued twice. (A worker stalled longer than the grace would start its copy as well; the claim
lets only one of them run the attempt.)

Cost per pass, for n queued jobs: one pipeline of n HMGETs and an LLEN, and, only when an id
may be off the list (more RQ jobs say "queued" than the list holds, or one has waited longer
than the grace), one LRANGE of the queue list: O(queue length), about 0.5 MB for 10,000 jobs.
No per-id list search (LPOS is O(queue length) each, O(n^2) in all). A lost job is enqueued
again one grace after the first pass that finds it off the list.

A job that leaves `queued` without being claimed (paused, cancelled, deleted, a collection's
children all at once) is withdrawn: `withdraw` takes every pending id of those jobs off the
queue list and deletes their hashes, in one Lua script, so workers do not spend their time
popping thousands of ids whose claim is refused while a new job waits behind them. The script
reads the list once and rebuilds it without them: O(queue length + jobs), atomic against the
workers' pops and the dispatcher's pushes. (RQ's `Queue.remove` is an LREM per id, each
O(queue length): 5,000 of them over a 5,000-long list is 25 million comparisons.) An id a worker
has already popped is left alone; its claim is refused. The caller must withdraw only jobs the
database no longer says are queued: a job paused and resumed keeps its attempt number, so its
RQ id is the same. A starting dispatcher also checks every job on the list (`listed_jobs`), for
those that left the queue while no jobstore was there to notice.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime

import structlog
from redis import Redis
from rq import Queue
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job as RqJob
from rq.job import JobStatus as RqJobStatus
from rq.serializers import JSONSerializer
from rq.utils import as_text, utcparse
from rq.utils import now as rq_now

from haul.runtime.timeline import mark

log = structlog.get_logger(__name__)

TASK = "worker.tasks.run_job"
PENDING_STATES = frozenset({"queued", "deferred", "scheduled"})
RESULT_TTL = 3600
FAILURE_TTL = 24 * 3600
# RQ's timeout for an attempt exceeds the maximum job duration by this much, so the worker's
# own budget fires first: it fails the job as TIME_LIMIT and removes the partial files, which a
# horse killed by RQ would leave behind. RQ's timeout is the backstop for a horse that hangs.
RQ_TIMEOUT_MARGIN = 60
# An RQ id as rq_job_id writes it; the job id is the group.
LISTED_ID = re.compile(r"haul-([0-9a-f-]{36})-a[0-9]+")
# The ids the withdraw script pushes back, or deletes, per command (Lua's unpack has a limit).
WITHDRAW_CHUNK = 1000
WITHDRAW_SCRIPT = """
-- KEYS[1] the queue list; ARGV[1] the RQ job key prefix; ARGV[2] the chunk; ARGV[3..] job ids.
-- A script runs alone: no push or pop lands between the read and the rebuild. The hashes are
-- not declared in KEYS, which only a Redis Cluster needs; RQ runs on one Redis.
local withdrawn = {}
for i = 3, #ARGV do withdrawn[ARGV[i]] = true end
local chunk = tonumber(ARGV[2])
local kept, removed = {}, {}
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
    local job = string.match(id, '^haul%-(.+)%-a%d+$')
    if job and withdrawn[job] then removed[#removed + 1] = id else kept[#kept + 1] = id end
end
if #removed == 0 then return removed end
redis.call('DEL', KEYS[1])
for i = 1, #kept, chunk do
    redis.call('RPUSH', KEYS[1], unpack(kept, i, math.min(i + chunk - 1, #kept)))
end
for i = 1, #removed, chunk do
    local keys = {}
    for j = i, math.min(i + chunk - 1, #removed) do keys[#keys + 1] = ARGV[1] .. removed[j] end
    redis.call('DEL', unpack(keys))
end
return removed
"""


# The new jobs one script call enqueues: each is an EXISTS, an HSET and an RPUSH, so a call
# holds Redis for well under a millisecond per hundred.
ENQUEUE_CHUNK = 200
ENQUEUE_NEW_SCRIPT = """
-- KEYS[1] the queue list; ARGV[1] the RQ job key prefix; then, for each job, its RQ id, the
-- number n of its hash's fields, and the n field/value pairs. RQ's own unique enqueue does the
-- same for one job: a job whose hash exists is left alone, whatever its state.
local added = {}
local i = 2
while i <= #ARGV do
    local id, n = ARGV[i], tonumber(ARGV[i + 1])
    local key = ARGV[1] .. id
    if redis.call('EXISTS', key) == 0 then
        redis.call('HSET', key, unpack(ARGV, i + 2, i + 1 + 2 * n))
        redis.call('RPUSH', KEYS[1], id)
        added[#added + 1] = id
    end
    i = i + 2 + 2 * n
end
return added
"""


def rq_job_timeout(max_job_duration: float) -> int:
    """RQ's timeout, in whole seconds, for one attempt of a job allowed `max_job_duration`."""
    return math.ceil(max_job_duration) + RQ_TIMEOUT_MARGIN


def rq_job_id(job_id: uuid.UUID, attempt: int) -> str:
    return f"haul-{job_id}-a{attempt}"


class RqDispatcher:
    def __init__(
        self,
        redis_url: str,
        queue_name: str,
        max_job_duration: float,
        claim_grace: float,
        dequeue_grace: float = 60.0,
    ) -> None:
        self._redis = Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self.queue = Queue(queue_name, connection=self._redis, serializer=JSONSerializer)
        self._job_timeout = rq_job_timeout(max_job_duration)
        # A started RQ job whose row is still queued this long after it started died before claiming.
        self._claim_grace = claim_grace
        # A queued RQ job whose id is in no queue list this long was popped by a worker that died.
        self._dequeue_grace = dequeue_grace
        # RQ id -> monotonic time this process first saw it queued but off the queue list.
        self._off_list_since: dict[str, float] = {}
        self._withdraw_script = self._redis.register_script(WITHDRAW_SCRIPT)
        self._enqueue_new_script = self._redis.register_script(ENQUEUE_NEW_SCRIPT)

    def ensure_enqueued(self, queued: Sequence[tuple[uuid.UUID, int]]) -> int:
        """Make sure RQ holds a pending job for each (job id, next attempt); returns how many it added."""
        ids = [rq_job_id(job_id, attempt) for job_id, attempt in queued]
        pipe = self._redis.pipeline(transaction=False)
        for rq_id in ids:
            pipe.hmget(RqJob.key_for(rq_id), "status", "started_at", "enqueued_at")
        pipe.llen(self.queue.key)
        *states, listed_count = pipe.execute()
        lost = self._popped_and_lost(ids, states, listed_count)
        added = 0
        for (job_id, attempt), rq_id, (status, started_at, _) in zip(queued, ids, states, strict=True):
            state = status.decode() if status else None
            if rq_id in lost:
                state = "lost"
            elif state in PENDING_STATES or (state == "started" and not self._claim_overdue(started_at)):
                continue
            if state is not None:
                self._discard(rq_id)
            if self._enqueue(job_id, attempt, rq_id):
                added += 1
                log.info("job enqueued", job_id=str(job_id), rq_job_id=rq_id, replaced=state)
                mark("enqueue", job_id=str(job_id))
        return added

    def enqueue_new(self, queued: Sequence[tuple[uuid.UUID, int]]) -> int:
        """Enqueue each (job id, next attempt) that RQ holds nothing for, for jobs that just
        became queued; returns how many it added. An id RQ already holds, in any state, is left
        alone, as RQ's unique enqueue does: `ensure_enqueued` judges it.

        The RQ jobs are built by RQ (`Queue.create_job`, `Job.to_dict`) and stored as its unique
        enqueue stores one, but by one script call per ENQUEUE_CHUNK jobs instead of four round
        trips each: at a burst of submits that was most of jobstore's cost per job."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.sadd(self.queue.redis_queues_keys, self.queue.key)
        for start in range(0, len(queued), ENQUEUE_CHUNK):
            args: list[str | bytes | int] = [RqJob.key_for("")]
            for job_id, attempt in queued[start : start + ENQUEUE_CHUNK]:
                fields = self._rq_job_fields(job_id, attempt)
                args += [rq_job_id(job_id, attempt), len(fields) // 2, *fields]
            self._enqueue_new_script(keys=[self.queue.key], args=args, client=pipe)
        added = [as_text(rq_id) for chunk in pipe.execute()[1:] for rq_id in chunk]
        for rq_id in added:
            match = LISTED_ID.fullmatch(rq_id)
            job = match.group(1) if match else rq_id
            log.info("job enqueued", job_id=job, rq_job_id=rq_id, replaced=None)
            mark("enqueue", job_id=job)
        return len(added)

    def _rq_job_fields(self, job_id: uuid.UUID, attempt: int) -> list[str | bytes]:
        """The RQ job's hash as field/value pairs, as `enqueue_call` below would store it."""
        job = self.queue.create_job(
            TASK,
            kwargs={"job_id": str(job_id), "attempt": attempt},
            job_id=rq_job_id(job_id, attempt),
            timeout=self._job_timeout,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            description=f"haul job {job_id} attempt {attempt}",
            status=RqJobStatus.QUEUED,
        )
        # What RQ's enqueue sets on a job before storing it.
        job.origin = self.queue.name
        job.redis_server_version = self.queue.get_redis_server_version()
        job.enqueued_at = rq_now()
        fields: list[str | bytes] = []
        for name, value in job.to_dict().items():
            if value is not None:
                fields += [name, value if isinstance(value, bytes | str) else str(value)]
        return fields

    def withdraw(self, job_ids: Collection[uuid.UUID]) -> list[str]:
        """Take the pending RQ jobs of these jobs off the queue, whatever their attempt; returns
        the RQ ids removed. Only for jobs the database no longer says are queued."""
        if not job_ids:
            return []
        args: list[str | int] = [RqJob.key_for(""), WITHDRAW_CHUNK, *(str(job_id) for job_id in job_ids)]
        removed = [raw.decode() for raw in self._withdraw_script(keys=[self.queue.key], args=args)]
        for rq_id in removed:
            self._off_list_since.pop(rq_id, None)
        return removed

    def listed_jobs(self) -> set[uuid.UUID]:
        """The jobs with an id on the queue list (one LRANGE), for a sweep at start-up."""
        found: set[uuid.UUID] = set()
        for raw in self._redis.lrange(self.queue.key, 0, -1):
            match = LISTED_ID.fullmatch(as_text(raw))
            if match:
                found.add(uuid.UUID(match.group(1)))
        return found

    def depth(self) -> int:
        return int(self.queue.count)

    def ping(self) -> bool:
        return bool(self._redis.ping())

    def close(self) -> None:
        self._redis.close()

    def _popped_and_lost(
        self, ids: Sequence[str], states: Sequence[list[bytes | None]], listed_count: int
    ) -> set[str]:
        """The RQ ids that say "queued" but have been in no queue list for longer than the grace."""
        now = time.monotonic()
        queued = [rq_id for rq_id, (status, _, _) in zip(ids, states, strict=True) if status == b"queued"]
        # The list is read only when one of them may be off it: more say "queued" than the list
        # holds (a worker popped one a moment ago, or died with it), or one has waited longer than
        # the grace (the list may also hold ids of jobs no longer queued, hiding a missing one).
        if len(queued) <= listed_count and not any(
            self._waited_longer_than_grace(enqueued_at)
            for status, _, enqueued_at in states
            if status == b"queued"
        ):
            self._off_list_since.clear()
            return set()
        listed = set(self._redis.lrange(self.queue.key, 0, -1))
        off_list = {rq_id for rq_id in queued if rq_id.encode() not in listed}
        since = {rq_id: self._off_list_since.get(rq_id, now) for rq_id in off_list}
        self._off_list_since = since  # forgets ids back on the list, started, or no longer queued
        return {rq_id for rq_id, first in since.items() if now - first >= self._dequeue_grace}

    def _waited_longer_than_grace(self, enqueued_at: bytes | None) -> bool:
        if not enqueued_at:
            return True
        enqueued = utcparse(enqueued_at.decode()).replace(tzinfo=UTC)
        return (datetime.now(UTC) - enqueued).total_seconds() >= self._dequeue_grace

    def _claim_overdue(self, started_at: bytes | None) -> bool:
        if not started_at:
            return True
        started = utcparse(started_at.decode()).replace(tzinfo=UTC)
        return (datetime.now(UTC) - started).total_seconds() > self._claim_grace

    def _discard(self, rq_id: str) -> None:
        # A dead worker's id left on the intermediate list would make RQ's cleanup fail the new copy.
        intermediate = self.queue.intermediate_queue
        pipe = self._redis.pipeline(transaction=False)
        pipe.lrem(intermediate.key, 0, rq_id)
        pipe.delete(intermediate.get_first_seen_key(rq_id))
        pipe.execute()
        self._off_list_since.pop(rq_id, None)
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
