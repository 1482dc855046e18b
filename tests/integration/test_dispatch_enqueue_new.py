"""The dispatcher's batched enqueue of new jobs (RqDispatcher.enqueue_new) stores what RQ's own
unique enqueue stores, leaves alone any id RQ already holds, and hands a worker's dequeue the job
and attempt to claim; against a real Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job as RqJob
from rq.serializers import JSONSerializer

from jobstore.adapters.rqueue import ENQUEUE_CHUNK, RqDispatcher, rq_job_id

QUEUE = "haul-enqueue-new"
# Set at the moment of each enqueue, so never equal between two enqueues.
MOMENTS = {b"created_at", b"enqueued_at"}


@pytest.fixture
def dispatcher(redis_url: str) -> Iterator[RqDispatcher]:
    made = RqDispatcher(redis_url, QUEUE, max_job_duration=600, claim_grace=60.0)
    yield made
    made.close()


def stored(redis: Redis, rq_id: str) -> dict[bytes, bytes]:
    return {k: v for k, v in redis.hgetall(RqJob.key_for(rq_id)).items() if k not in MOMENTS}


def test_a_new_job_is_stored_as_rqs_own_enqueue_stores_it(redis: Redis, dispatcher: RqDispatcher) -> None:
    ours, theirs = uuid.uuid4(), uuid.uuid4()
    assert dispatcher.enqueue_new([(ours, 1)]) == 1
    assert dispatcher._enqueue(theirs, 1, rq_job_id(theirs, 1))  # RQ's enqueue_call, unique
    mine, rqs = stored(redis, rq_job_id(ours, 1)), stored(redis, rq_job_id(theirs, 1))
    assert set(mine) == set(rqs)
    differ = {k for k in mine if mine[k] != rqs[k]}
    assert differ == {b"data", b"description"}, "only what names the job differs"
    assert redis.lrange(Queue(QUEUE, connection=redis).key, 0, -1) == [
        rq_job_id(ours, 1).encode(),
        rq_job_id(theirs, 1).encode(),
    ]
    assert redis.sismember(Queue.redis_queues_keys, Queue(QUEUE, connection=redis).key)


def test_ids_rq_holds_are_left_alone_and_the_rest_enqueued_in_order(
    redis: Redis, dispatcher: RqDispatcher
) -> None:
    held = uuid.uuid4()
    assert dispatcher.enqueue_new([(held, 2)]) == 1
    redis.hset(RqJob.key_for(rq_job_id(held, 2)), "status", "started")
    jobs = [(uuid.uuid4(), 1) for _ in range(ENQUEUE_CHUNK + 5)]  # more than one script call
    assert dispatcher.enqueue_new([*jobs[:3], (held, 2), *jobs[3:]]) == len(jobs)
    assert redis.hget(RqJob.key_for(rq_job_id(held, 2)), "status") == b"started"
    listed = [raw.decode() for raw in redis.lrange(Queue(QUEUE, connection=redis).key, 0, -1)]
    assert listed == [rq_job_id(held, 2), *(rq_job_id(j, a) for j, a in jobs)]
    assert dispatcher.enqueue_new(jobs[:10]) == 0, "a second notice of the same jobs adds nothing"


def test_a_worker_dequeues_the_job_and_attempt_to_claim(redis: Redis, dispatcher: RqDispatcher) -> None:
    job_id = uuid.uuid4()
    dispatcher.enqueue_new([(job_id, 3)])
    popped = Queue.dequeue_any(
        [Queue(QUEUE, connection=redis)], None, connection=redis, serializer=JSONSerializer
    )
    assert popped is not None
    job = popped[0]
    assert job.id == rq_job_id(job_id, 3)
    assert job.func_name == "worker.tasks.run_job"
    assert job.kwargs == {"job_id": str(job_id), "attempt": 3}
    assert job.get_status() == "queued" and job.timeout == 660 and job.origin == QUEUE
