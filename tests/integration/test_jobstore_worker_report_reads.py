"""A worker's claim and outcome for a job without a parent read the job once, locked, on
PostgreSQL and on SQLite; a collection's child still takes its parent along, and a resend of an
outcome already recorded changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from haul.jobstore.v1 import jobstore_pb2 as pb
from jobstore.server import Jobstore
from tests.support.jobstore_jobs import SHA, Stub, create


@contextmanager
def selects_of_jobs(jobstore: Jobstore) -> Iterator[list[str]]:
    """The SELECT statements on the jobs table run meanwhile."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split()
        if words[0].upper() == "SELECT" and "jobs" in [w.strip('",').lower() for w in words]:
            seen.append(statement)

    event.listen(jobstore.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(jobstore.engine.sync_engine, "before_cursor_execute", count)


async def test_a_claim_and_a_completion_read_a_top_level_job_once(jobstore: Jobstore, stub: Stub) -> None:
    job = await create(stub)
    with selects_of_jobs(jobstore) as claim_reads:
        claim = await stub.ClaimJob(pb.ClaimJobRequest(job_id=job.id, worker_id="w1"))
    assert claim.accepted
    assert len(claim_reads) == 1, claim_reads
    request = pb.CompleteJobRequest(
        job_id=job.id, attempt=claim.attempt, filename="f", output_path=f"{job.id}/f", size=1, sha256=SHA
    )
    with selects_of_jobs(jobstore) as complete_reads:
        done = await stub.CompleteJob(request)
    assert done.accepted
    assert len(complete_reads) == 1, complete_reads
    again = await stub.CompleteJob(request)  # a resend: accepted, nothing changes
    assert again.accepted
    after = await stub.GetJob(pb.GetJobRequest(job_id=job.id, include_history=True))
    assert after.job.status == pb.JOB_STATUS_COMPLETED
    assert [c.to_status for c in after.history].count(pb.JOB_STATUS_COMPLETED) == 1


async def test_a_claim_of_an_unknown_job_is_refused(stub: Stub) -> None:
    reply = await stub.ClaimJob(
        pb.ClaimJobRequest(job_id="00000000-0000-4000-8000-000000000000", worker_id="w1")
    )
    assert not reply.accepted
    assert reply.refusal == pb.REFUSAL_JOB_NOT_FOUND
