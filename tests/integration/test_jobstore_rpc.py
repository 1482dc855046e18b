"""Every RPC over a real channel, on PostgreSQL and on SQLite: the job's life, claims, pages,
the change feed and the service token. Bad input and the cost of a batch are in
`test_jobstore_rpc_limits.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc
import pytest

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from tests.support.inprocess import jobstore_settings, start_jobstore
from tests.support.jobstore_jobs import SHA, URL, Stub, claimed, create, in_status, status_of


async def test_create_get_list_delete_round_trip(stub: Stub) -> None:
    created = await stub.CreateJob(
        pb.CreateJobRequest(
            url=URL, type=pb.JOB_TYPE_AUDIO, options=pb.JobOptions(audio_format=pb.AUDIO_FORMAT_MP3)
        )
    )
    job = created.job
    assert created.created and job.status == pb.JOB_STATUS_QUEUED and job.max_attempts == 3
    fetched = await stub.GetJob(pb.GetJobRequest(job_id=job.id, include_history=True))
    assert fetched.job.options.audio_format == pb.AUDIO_FORMAT_MP3 and fetched.job.type == pb.JOB_TYPE_AUDIO
    assert [e.to_status for e in fetched.history] == [pb.JOB_STATUS_QUEUED]
    listed = await stub.ListJobs(pb.ListJobsRequest())
    assert [j.id for j in listed.jobs] == [job.id]
    deleted = await stub.DeleteJob(pb.DeleteJobRequest(job_id=job.id))
    assert deleted.job.id == job.id
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.GetJob(pb.GetJobRequest(job_id=job.id))
    assert info.value.code() is grpc.StatusCode.NOT_FOUND


async def test_every_control_transition_is_allowed_or_refused_as_designed(stub: Stub) -> None:
    queued, running, paused = pb.JOB_STATUS_QUEUED, pb.JOB_STATUS_RUNNING, pb.JOB_STATUS_PAUSED
    failed, cancelled = pb.JOB_STATUS_FAILED, pb.JOB_STATUS_CANCELLED
    # DESIGN §2, written out independently of the code under test.
    allowed = {
        pb.CONTROL_ACTION_CANCEL: {queued: cancelled, running: cancelled, paused: cancelled},
        pb.CONTROL_ACTION_PAUSE: {queued: paused, running: paused},
        pb.CONTROL_ACTION_RESUME: {paused: queued},
        pb.CONTROL_ACTION_RETRY: {failed: queued, cancelled: queued},
    }
    statuses = [s for s in pb.JobStatus.values() if s != pb.JOB_STATUS_UNSPECIFIED]
    for action, moves in allowed.items():
        for status in statuses:
            job = await in_status(stub, status)
            request = pb.ControlJobRequest(job_id=job.id, action=action, reason="test")
            case = f"{pb.ControlAction.Name(action)} from {pb.JobStatus.Name(status)}"
            if status in moves:
                reply = await stub.ControlJob(request)
                assert reply.job.status == moves[status], case
            else:
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await stub.ControlJob(request)
                assert info.value.code() is grpc.StatusCode.FAILED_PRECONDITION, case
                assert await status_of(stub, job.id) == status, case


async def test_worker_reports_follow_the_attempt_fence(stub: Stub) -> None:
    job = await claimed(stub)
    await stub.ControlJob(pb.ControlJobRequest(job_id=job.id, action=pb.CONTROL_ACTION_PAUSE))
    await stub.ControlJob(pb.ControlJobRequest(job_id=job.id, action=pb.CONTROL_ACTION_RESUME))
    second = await stub.ClaimJob(pb.ClaimJobRequest(job_id=job.id, worker_id="w2"))
    assert second.accepted and second.attempt == 2

    old = pb.ProgressUpdate(job_id=job.id, attempt=1, seq=1, stage=pb.JOB_STAGE_DOWNLOADING, progress=5)
    reply = await stub.ReportProgress(pb.ReportProgressRequest(updates=[old]))
    assert not reply.results[0].accepted and reply.results[0].refusal == pb.REFUSAL_STALE_ATTEMPT
    finish = await stub.CompleteJob(
        pb.CompleteJobRequest(job_id=job.id, attempt=1, filename="v.mp4", output_path="x", size=1, sha256=SHA)
    )
    assert not finish.accepted and finish.refusal == pb.REFUSAL_STALE_ATTEMPT
    assert finish.job.status == pb.JOB_STATUS_RUNNING

    done = await stub.CompleteJob(
        pb.CompleteJobRequest(
            job_id=job.id, attempt=2, filename="v.mp4", output_path="x/v.mp4", size=9, sha256=SHA
        )
    )
    assert done.accepted and done.job.status == pb.JOB_STATUS_COMPLETED and done.job.sha256 == SHA
    late = pb.ProgressUpdate(job_id=job.id, attempt=2, seq=9, stage=pb.JOB_STAGE_DOWNLOADING, progress=5)
    reply = await stub.ReportProgress(pb.ReportProgressRequest(updates=[late]))
    assert reply.results[0].refusal == pb.REFUSAL_JOB_FINISHED
    failed = await stub.FailJob(
        pb.FailJobRequest(job_id=job.id, attempt=2, error_code="LATE", error_message="x")
    )
    assert not failed.accepted and failed.refusal == pb.REFUSAL_JOB_FINISHED


async def test_stale_seq_is_ignored_and_progress_is_stored(stub: Stub) -> None:
    job = await claimed(stub)

    def update(seq: int, progress: float) -> pb.ProgressUpdate:
        return pb.ProgressUpdate(
            job_id=job.id, attempt=1, seq=seq, stage=pb.JOB_STAGE_DOWNLOADING, progress=progress,
            downloaded_bytes=int(progress), total_bytes=100, speed=1000.0, eta=3.0,
        )  # fmt: skip

    reply = await stub.ReportProgress(pb.ReportProgressRequest(updates=[update(2, 40), update(1, 10)]))
    assert [r.accepted for r in reply.results] == [True, False]
    assert reply.results[1].refusal == pb.REFUSAL_STALE_SEQ
    stored = (await stub.GetJob(pb.GetJobRequest(job_id=job.id))).job
    assert (stored.progress, stored.progress_seq, stored.total_bytes, stored.speed) == (40, 2, 100, 1000.0)
    assert stored.stage == pb.JOB_STAGE_DOWNLOADING


async def test_retryable_failure_requeues_until_attempts_run_out(stub: Stub) -> None:
    job = await create(stub, max_attempts=2)
    for attempt in (1, 2):
        claim = await stub.ClaimJob(pb.ClaimJobRequest(job_id=job.id, worker_id="w"))
        assert claim.attempt == attempt
        reply = await stub.FailJob(
            pb.FailJobRequest(
                job_id=job.id, attempt=attempt, error_code="HTTP_ERROR", error_message="503", retryable=True
            )
        )
        assert reply.accepted
    assert reply.job.status == pb.JOB_STATUS_FAILED and reply.job.error_code == "HTTP_ERROR"


async def test_claims_of_missing_jobs_are_refused_not_errors(stub: Stub) -> None:
    reply = await stub.ClaimJob(
        pb.ClaimJobRequest(job_id="00000000-0000-4000-8000-000000000000", worker_id="w")
    )
    assert not reply.accepted and reply.refusal == pb.REFUSAL_JOB_NOT_FOUND


async def test_idempotency_key_returns_the_same_job(stub: Stub) -> None:
    first = await stub.CreateJob(pb.CreateJobRequest(url=URL, idempotency_key="abc"))
    again = await stub.CreateJob(pb.CreateJobRequest(url=URL, idempotency_key="abc"))
    assert first.created and not again.created and again.job.id == first.job.id
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.CreateJob(pb.CreateJobRequest(url=URL + "?other", idempotency_key="abc"))
    assert info.value.code() is grpc.StatusCode.ALREADY_EXISTS
    assert len((await stub.ListJobs(pb.ListJobsRequest())).jobs) == 1


async def test_concurrent_idempotent_creates_make_one_job(stub: Stub) -> None:
    replies = await asyncio.gather(
        *(stub.CreateJob(pb.CreateJobRequest(url=URL, idempotency_key="race")) for _ in range(8))
    )
    assert len({r.job.id for r in replies}) == 1
    assert sum(r.created for r in replies) == 1


async def test_list_pages_and_filters_by_status(stub: Stub) -> None:
    ids = [(await create(stub)).id for _ in range(5)]
    await stub.ControlJob(pb.ControlJobRequest(job_id=ids[0], action=pb.CONTROL_ACTION_CANCEL))
    seen: list[str] = []
    token = ""
    for _ in range(5):
        page = await stub.ListJobs(pb.ListJobsRequest(page_size=2, page_token=token))
        seen += [j.id for j in page.jobs]
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(ids))
    cancelled = await stub.ListJobs(pb.ListJobsRequest(statuses=[pb.JOB_STATUS_CANCELLED]))
    assert [j.id for j in cancelled.jobs] == [ids[0]]


async def test_two_concurrent_claims_have_exactly_one_winner(stub: Stub) -> None:
    for _ in range(5):
        job = await create(stub)
        replies = await asyncio.gather(
            *(stub.ClaimJob(pb.ClaimJobRequest(job_id=job.id, worker_id=f"w{i}")) for i in range(2))
        )
        assert sorted(r.accepted for r in replies) == [False, True]
        loser = next(r for r in replies if not r.accepted)
        assert loser.refusal == pb.REFUSAL_ALREADY_CLAIMED
        assert (await stub.GetJob(pb.GetJobRequest(job_id=job.id))).job.attempt == 1


@contextlib.asynccontextmanager
async def watching(stub: Stub) -> AsyncIterator[asyncio.Queue[pb.JobChange]]:
    changes: asyncio.Queue[pb.JobChange] = asyncio.Queue()
    call = stub.WatchJobs(pb.WatchJobsRequest())

    async def pump() -> None:
        async for change in call:
            changes.put_nowait(change)

    task = asyncio.create_task(pump())
    await asyncio.sleep(0.3)  # let the subscription reach the server
    try:
        yield changes
    finally:
        call.cancel()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
            await task


async def next_change(changes: asyncio.Queue[pb.JobChange]) -> pb.JobChange:
    return await asyncio.wait_for(changes.get(), timeout=10)


async def test_watch_streams_creates_changes_and_deletes(stub: Stub) -> None:
    async with watching(stub) as changes:
        job = await create(stub)
        seen = await next_change(changes)
        assert (seen.kind, seen.job.id, seen.job.status) == (
            pb.CHANGE_KIND_UPSERTED,
            job.id,
            pb.JOB_STATUS_QUEUED,
        )
        await stub.ControlJob(pb.ControlJobRequest(job_id=job.id, action=pb.CONTROL_ACTION_PAUSE))
        assert (await next_change(changes)).job.status == pb.JOB_STATUS_PAUSED
        await stub.DeleteJob(pb.DeleteJobRequest(job_id=job.id))
        gone = await next_change(changes)
        assert (gone.kind, gone.job.id) == (pb.CHANGE_KIND_DELETED, job.id)


async def test_service_token_guards_every_call_but_health(sqlite_url: str) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    app = await start_jobstore(jobstore_settings(sqlite_url, service_token="s3cret-token-for-tests"))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            stub = pb_grpc.JobStoreServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.ListJobs(pb.ListJobsRequest())
            assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.ListJobs(pb.ListJobsRequest(), metadata=[("authorization", "Bearer wrong")])
            assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(grpc.aio.AioRpcError) as info:
                async for _ in stub.WatchJobs(pb.WatchJobsRequest()):
                    pass
            assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
            ok = await stub.ListJobs(
                pb.ListJobsRequest(), metadata=[("authorization", "Bearer s3cret-token-for-tests")]
            )
            assert list(ok.jobs) == []
            health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
            assert health.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await app.stop()
