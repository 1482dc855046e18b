"""Jobs for the jobstore RPC tests, made and moved through the public RPCs only."""

from __future__ import annotations

from typing import Any

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc

Stub = pb_grpc.JobStoreServiceStub
URL = "https://media.example/video.mp4"
SHA = "ab" * 32


async def create(stub: Stub, **fields: Any) -> pb.Job:
    reply = await stub.CreateJob(pb.CreateJobRequest(url=fields.pop("url", URL), **fields))
    return reply.job


async def claimed(stub: Stub, worker: str = "w1") -> pb.Job:
    job = await create(stub)
    reply = await stub.ClaimJob(pb.ClaimJobRequest(job_id=job.id, worker_id=worker))
    assert reply.accepted
    return reply.job


async def status_of(stub: Stub, job_id: str) -> int:
    return (await stub.GetJob(pb.GetJobRequest(job_id=job_id))).job.status


async def in_status(stub: Stub, status: int) -> pb.Job:
    """A job brought to `status` through the public RPCs only."""
    if status == pb.JOB_STATUS_QUEUED:
        return await create(stub)
    if status == pb.JOB_STATUS_PAUSED:
        job = await create(stub)
        return (
            await stub.ControlJob(pb.ControlJobRequest(job_id=job.id, action=pb.CONTROL_ACTION_PAUSE))
        ).job
    if status == pb.JOB_STATUS_CANCELLED:
        job = await create(stub)
        return (
            await stub.ControlJob(pb.ControlJobRequest(job_id=job.id, action=pb.CONTROL_ACTION_CANCEL))
        ).job
    job = await claimed(stub)
    if status == pb.JOB_STATUS_COMPLETED:
        request = pb.CompleteJobRequest(
            job_id=job.id, attempt=1, filename="v.mp4", output_path="x/v.mp4", size=1, sha256=SHA
        )
        return (await stub.CompleteJob(request)).job
    if status == pb.JOB_STATUS_FAILED:
        request = pb.FailJobRequest(job_id=job.id, attempt=1, error_code="HTTP_ERROR", error_message="404")
        return (await stub.FailJob(request)).job
    return job
