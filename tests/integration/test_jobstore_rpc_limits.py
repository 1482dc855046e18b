"""The jobstore RPCs under bad input and load, on PostgreSQL and on SQLite: every malformed or
oversized request is refused with INVALID_ARGUMENT and changes nothing, and a batch of 1000
progress updates costs a constant number of SQL statements.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from sqlalchemy import event

from haul.jobstore.v1 import jobstore_pb2 as pb
from jobstore.domain.model import Job
from jobstore.domain.values import JobOptions, JobType
from jobstore.server import Jobstore
from tests.support.jobstore_jobs import SHA, URL, Stub, claimed

BAD_REQUESTS: list[tuple[str, str, Any]] = [
    ("malformed uuid", "GetJob", pb.GetJobRequest(job_id="123")),
    (
        "malformed uuid in control",
        "ControlJob",
        pb.ControlJobRequest(job_id="x", action=pb.CONTROL_ACTION_CANCEL),
    ),
    ("ftp url", "CreateJob", pb.CreateJobRequest(url="ftp://example.com/f")),
    ("file url", "CreateJob", pb.CreateJobRequest(url="file:///etc/passwd")),
    ("option-like url", "CreateJob", pb.CreateJobRequest(url="--exec=touch /tmp/pwned")),
    ("1 MB url", "CreateJob", pb.CreateJobRequest(url="https://e.com/" + "a" * 1_000_000)),
    ("unknown type", "CreateJob", pb.CreateJobRequest(url=URL, type=99)),
    (
        "unknown audio format",
        "CreateJob",
        pb.CreateJobRequest(url=URL, options=pb.JobOptions(audio_format=42)),
    ),
    ("too many attempts", "CreateJob", pb.CreateJobRequest(url=URL, max_attempts=1000)),
    ("unknown action", "ControlJob", None),
    ("unknown status filter", "ListJobs", pb.ListJobsRequest(statuses=[77])),
    ("forged page token", "ListJobs", pb.ListJobsRequest(page_token="bm90LWEtdG9rZW4")),
    ("progress 150", "ReportProgress", ("progress", 150.0)),
    ("progress -1", "ReportProgress", ("progress", -1.0)),
    ("progress NaN", "ReportProgress", ("progress", float("nan"))),
    ("negative speed", "ReportProgress", ("speed", -1.0)),
    ("huge size", "ReportProgress", ("total_bytes", 2**64 - 1)),
    ("unknown stage", "ReportProgress", ("stage", 99)),
    ("1 MB title", "ReportProgress", ("meta", pb.JobMeta(title="t" * 1_000_000))),
    ("1 MB error message", "FailJob", ("error_message", "e" * 1_000_000)),
    ("lower-case error code", "FailJob", ("error_code", "oops")),
    ("bad sha256", "CompleteJob", ("sha256", "not-hex")),
    ("1 MB worker id", "ClaimJob", ("worker_id", "w" * 1_000_000)),
]


@pytest.mark.parametrize(("case", "method", "request_spec"), BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
async def test_bad_input_is_invalid_argument_and_changes_nothing(
    stub: Stub, case: str, method: str, request_spec: Any
) -> None:
    job = await claimed(stub)
    before = await stub.GetJob(pb.GetJobRequest(job_id=job.id, include_history=True))
    request = build_bad_request(job.id, method, request_spec)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await getattr(stub, method)(request)
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    after = await stub.GetJob(pb.GetJobRequest(job_id=job.id, include_history=True))
    assert after == before
    assert len((await stub.ListJobs(pb.ListJobsRequest())).jobs) == 1


def build_bad_request(job_id: str, method: str, spec: Any) -> Any:
    if method == "ControlJob" and spec is None:
        return pb.ControlJobRequest(job_id=job_id, action=17)
    if not isinstance(spec, tuple):
        return spec
    name, value = spec
    if method == "ReportProgress":
        update = pb.ProgressUpdate(
            job_id=job_id, attempt=1, seq=1, stage=pb.JOB_STAGE_DOWNLOADING, progress=1
        )
        if name == "meta":
            update.meta.CopyFrom(value)
        else:
            setattr(update, name, value)
        return pb.ReportProgressRequest(updates=[update])
    if method == "FailJob":
        request = pb.FailJobRequest(job_id=job_id, attempt=1, error_code="X", error_message="m")
    elif method == "CompleteJob":
        request = pb.CompleteJobRequest(
            job_id=job_id, attempt=1, filename="f", output_path="f", size=1, sha256=SHA
        )
    else:
        request = pb.ClaimJobRequest(job_id=job_id, worker_id="w")
    setattr(request, name, value)
    return request


async def test_a_batch_of_1000_updates_costs_a_constant_number_of_statements(
    jobstore: Jobstore, stub: Stub
) -> None:
    jobs = await claimed_jobs(jobstore, stub, 1000)
    updates = [
        pb.ProgressUpdate(
            job_id=j, attempt=1, seq=1, stage=pb.JOB_STAGE_DOWNLOADING, progress=50, downloaded_bytes=5
        )
        for j in jobs
    ]
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(jobstore.engine.sync_engine, "before_cursor_execute", count)
    try:
        reply = await stub.ReportProgress(pb.ReportProgressRequest(updates=updates))
    finally:
        event.remove(jobstore.engine.sync_engine, "before_cursor_execute", count)
    assert all(r.accepted for r in reply.results)
    # One SELECT of the batch, one executemany UPDATE, and (on PostgreSQL) one NOTIFY statement.
    assert statements.count("UPDATE") == 1, statements
    assert len(statements) <= 3, statements
    listing = await stub.ListJobs(pb.ListJobsRequest(page_size=500, statuses=[pb.JOB_STATUS_RUNNING]))
    assert all(j.progress == 50 and j.heartbeat_at.seconds > 0 for j in listing.jobs)


async def claimed_jobs(jobstore: Jobstore, stub: Stub, count: int) -> list[str]:
    """`count` jobs created and claimed by the jobstore's own domain model and repository, in one
    transaction: the rows and events CreateJob and ClaimJob write, without the 2,000 round trips
    and transactions that took 18-39 s. A job reached through the RPCs is checked against them."""
    through_rpcs = await claimed(stub, worker="w")
    now = datetime.now(UTC)
    made = []
    for _ in range(count - 1):
        job = Job.create(URL, JobType.AUTO, JobOptions(), through_rpcs.max_attempts, now)
        assert job.claim("w", now) is None
        made.append(job)
    async with jobstore.unit_of_work() as uow:
        # The repository's batched insert (a collection's children's); with no parent, the
        # unique (parent, entry key) index it leans on never matches.
        await uow.jobs.add_children(made)
        await uow.commit()
    sample = (await stub.GetJob(pb.GetJobRequest(job_id=str(made[0].id)))).job

    def shape(job: pb.Job) -> tuple[Any, ...]:
        return (job.url, job.type, job.status, job.stage, job.attempt, job.max_attempts, job.progress)

    assert shape(sample) == shape(through_rpcs)
    return [through_rpcs.id, *(str(job.id) for job in made)]
