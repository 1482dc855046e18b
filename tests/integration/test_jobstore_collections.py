"""Collections over a real channel, on PostgreSQL and on SQLite: a worker's ReportCollection
makes a job the parent of one child per entry; the parent follows its children, and controls,
deletion and listing treat it as one collection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import grpc
import pytest

from haul.jobstore.v1 import jobstore_pb2 as pb
from tests.support.jobstore_jobs import SHA, Stub, create

FEED = "https://media.example/feed.xml"


def entries(count: int, refused: Sequence[int] = ()) -> list[pb.CollectionEntry]:
    return [
        pb.CollectionEntry(
            key=f"item-{i}",
            url=f"https://media.example/item-{i}.mp3",
            title=f"Item {i}",
            index=i,
            refused="the address is private" if i in refused else "",
        )
        for i in range(1, count + 1)
    ]


async def claimed_parent(stub: Stub, **fields: object) -> pb.Job:
    job = await create(stub, url=FEED, **fields)
    claim = await stub.ClaimJob(pb.ClaimJobRequest(job_id=job.id, worker_id="resolver"))
    assert claim.accepted
    return claim.job


async def report(
    stub: Stub, parent: pb.Job, items: list[pb.CollectionEntry], attempt: int = 1, **fields: object
) -> pb.ReportCollectionResponse:
    request = pb.ReportCollectionRequest(
        job_id=parent.id, attempt=attempt, title="A podcast", entries=items, listed=len(items), **fields
    )
    return await stub.ReportCollection(request)


async def collection(stub: Stub, count: int, refused: Sequence[int] = ()) -> pb.Job:
    parent = await claimed_parent(stub)
    reply = await report(stub, parent, entries(count, refused))
    assert reply.accepted and reply.created == count
    return reply.job


async def children(stub: Stub, parent_id: str, page_size: int = 500) -> list[pb.Job]:
    found: list[pb.Job] = []
    token = ""
    for _ in range(100):
        page = await stub.ListJobs(
            pb.ListJobsRequest(parent_id=parent_id, page_size=page_size, page_token=token)
        )
        found.extend(page.jobs)
        token = page.next_page_token
        if not token:
            return found
    raise AssertionError("the pages never ended")


async def get(stub: Stub, job_id: str) -> pb.Job:
    return (await stub.GetJob(pb.GetJobRequest(job_id=job_id))).job


async def control(stub: Stub, job_id: str, action: int) -> pb.Job:
    return (await stub.ControlJob(pb.ControlJobRequest(job_id=job_id, action=action))).job


async def run_child(stub: Stub, child: pb.Job, outcome: str) -> None:
    claim = await stub.ClaimJob(pb.ClaimJobRequest(job_id=child.id, worker_id="w"))
    assert claim.accepted
    if outcome == "completed":
        done = await stub.CompleteJob(
            pb.CompleteJobRequest(
                job_id=child.id,
                attempt=claim.attempt,
                filename="a.mp3",
                output_path="x/a.mp3",
                size=3,
                sha256=SHA,
            )
        )
    elif outcome == "failed":
        done = await stub.FailJob(
            pb.FailJobRequest(
                job_id=child.id, attempt=claim.attempt, error_code="HTTP_ERROR", error_message="404"
            )
        )
    else:
        return
    assert done.accepted


def counts(job: pb.Job) -> tuple[int, ...]:
    c = job.collection
    return (c.total, c.queued, c.running, c.paused, c.completed, c.failed, c.cancelled)


async def test_a_report_creates_the_children_in_entry_order_and_ends_the_claim(stub: Stub) -> None:
    parent = await claimed_parent(
        stub, type=pb.JOB_TYPE_AUDIO, options=pb.JobOptions(audio_format=pb.AUDIO_FORMAT_MP3, items="1-3")
    )
    assert parent.options.max_items == 500, "the server default is settled at creation"
    reply = await report(stub, parent, list(reversed(entries(3))))
    assert reply.accepted and reply.created == 3
    job = reply.job
    assert (
        job.HasField("collection") and job.collection.title == "A podcast" and job.meta.title == "A podcast"
    )
    assert counts(job) == (3, 3, 0, 0, 0, 0, 0) and job.collection.listed == 3
    assert (job.status, job.stage, job.worker_id, job.HasField("heartbeat_at")) == (
        pb.JOB_STATUS_RUNNING,
        pb.JOB_STAGE_DOWNLOADING,
        "",
        False,
    )
    kids = await children(stub, job.id)
    assert [k.entry_index for k in kids] == [1, 2, 3]
    assert [k.url for k in kids] == [f"https://media.example/item-{i}.mp3" for i in (1, 2, 3)]
    for kid in kids:
        assert (kid.parent_id, kid.status, kid.type) == (job.id, pb.JOB_STATUS_QUEUED, pb.JOB_TYPE_AUDIO)
        assert kid.options.audio_format == pb.AUDIO_FORMAT_MP3
        assert (kid.options.items, kid.options.max_items) == ("", 0), "a child does not choose entries"
        assert not kid.HasField("collection") and kid.meta.title.startswith("Item ")
    # The parent's worker is done with it: its late reports are refused.
    late = pb.ProgressUpdate(job_id=job.id, attempt=1, seq=1, stage=pb.JOB_STAGE_DOWNLOADING, progress=50)
    result = (await stub.ReportProgress(pb.ReportProgressRequest(updates=[late]))).results[0]
    assert not result.accepted and result.refusal == pb.REFUSAL_JOB_NOT_RUNNING
    finish = await stub.CompleteJob(
        pb.CompleteJobRequest(job_id=job.id, attempt=1, filename="f", output_path="f", size=1, sha256=SHA)
    )
    assert not finish.accepted and finish.job.status == pb.JOB_STATUS_RUNNING


async def test_a_resent_report_or_a_later_attempt_duplicates_nothing(stub: Stub) -> None:
    parent = await claimed_parent(stub)
    # The first attempt's claim is lost (paused and resumed); a second attempt resolves.
    await control(stub, parent.id, pb.CONTROL_ACTION_PAUSE)
    await control(stub, parent.id, pb.CONTROL_ACTION_RESUME)
    second = await stub.ClaimJob(pb.ClaimJobRequest(job_id=parent.id, worker_id="other"))
    assert second.attempt == 2
    stale = await report(stub, parent, entries(4), attempt=1)
    assert not stale.accepted and stale.refusal == pb.REFUSAL_STALE_ATTEMPT and stale.created == 0
    assert await children(stub, parent.id) == []

    first = await report(stub, parent, entries(4), attempt=2)
    assert first.accepted and first.created == 4
    again = await report(stub, parent, entries(5), attempt=2)
    assert again.accepted and again.created == 0
    assert len(await children(stub, parent.id)) == 4
    assert (await report(stub, parent, entries(4), attempt=1)).refusal == pb.REFUSAL_STALE_ATTEMPT


async def test_duplicate_keys_in_one_report_make_one_child(stub: Stub) -> None:
    parent = await claimed_parent(stub)
    items = entries(3)
    items[2].key = items[0].key
    reply = await report(stub, parent, items)
    assert reply.created == 2 and [k.entry_index for k in await children(stub, parent.id)] == [1, 2]


async def test_zero_entries_complete_the_parent_at_once(stub: Stub) -> None:
    parent = await claimed_parent(stub)
    reply = await report(stub, parent, [])
    assert reply.accepted and reply.created == 0
    assert (reply.job.status, reply.job.progress, counts(reply.job)) == (
        pb.JOB_STATUS_COMPLETED,
        100,
        (0,) * 7,
    )
    assert reply.job.HasField("finished_at")


async def test_refused_entries_become_failed_children_and_the_others_go_on(stub: Stub) -> None:
    parent = await claimed_parent(stub)
    items = entries(4, refused=[2])
    items[3].url = "file:///etc/passwd"  # not refused by the worker: jobstore's own check refuses it
    reply = await report(stub, parent, items)
    assert reply.created == 4 and counts(reply.job) == (4, 2, 0, 0, 0, 2, 0)
    kids = await children(stub, parent.id)
    assert [k.status for k in kids] == [pb.JOB_STATUS_QUEUED, pb.JOB_STATUS_FAILED] * 2
    assert (kids[1].error_code, kids[1].error_message) == ("ENTRY_REFUSED", "the address is private")
    assert kids[3].error_code == "ENTRY_REFUSED" and "url" in kids[3].error_message
    claim = await stub.ClaimJob(pb.ClaimJobRequest(job_id=kids[1].id, worker_id="w"))
    assert not claim.accepted and claim.refusal == pb.REFUSAL_JOB_FINISHED


async def test_max_items_cuts_the_entries_and_the_parent_says_so(stub: Stub) -> None:
    parent = await claimed_parent(stub, options=pb.JobOptions(max_items=2))
    reply = await report(stub, parent, entries(5))
    assert reply.created == 2 and reply.job.collection.truncated and reply.job.collection.listed == 5
    assert [k.entry_index for k in await children(stub, parent.id)] == [1, 2]


async def test_items_and_max_items_are_validated(stub: Stub) -> None:
    for options in (pb.JobOptions(items="1-3,x"), pb.JobOptions(items="0"), pb.JobOptions(max_items=5001)):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await create(stub, url=FEED, options=options)
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    job = await create(
        stub, url=FEED, options=pb.JobOptions(items="1-10,15,-2", max_items=7, redownload=True)
    )
    assert (job.options.items, job.options.max_items, job.options.redownload) == ("1-10,15,-2", 7, True)


async def test_a_file_job_is_never_expanded(stub: Stub) -> None:
    parent = await claimed_parent(stub, type=pb.JOB_TYPE_FILE)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await report(stub, parent, entries(2))
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert await children(stub, parent.id) == []


async def test_an_entry_is_never_expanded_into_a_collection_of_its_own(stub: Stub) -> None:
    parent = await collection(stub, 1)
    kid = (await children(stub, parent.id))[0]
    claim = await stub.ClaimJob(pb.ClaimJobRequest(job_id=kid.id, worker_id="w"))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await report(stub, claim.job, entries(2))
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert await children(stub, kid.id) == [] and not (await get(stub, kid.id)).HasField("collection")


async def test_children_roll_up_into_the_parent_counts_progress_and_status(stub: Stub) -> None:
    parent = await collection(stub, 3)
    kids = await children(stub, parent.id)
    await run_child(stub, kids[0], "running")
    update = pb.ProgressUpdate(
        job_id=kids[0].id, attempt=1, seq=1, stage=pb.JOB_STAGE_DOWNLOADING, progress=60
    )
    assert (await stub.ReportProgress(pb.ReportProgressRequest(updates=[update]))).results[0].accepted
    job = await get(stub, parent.id)
    assert counts(job) == (3, 2, 1, 0, 0, 0, 0) and job.progress == pytest.approx(20.0)

    await stub.CompleteJob(
        pb.CompleteJobRequest(
            job_id=kids[0].id, attempt=1, filename="a", output_path="x/a", size=1, sha256=SHA
        )
    )
    await run_child(stub, kids[1], "failed")
    job = await get(stub, parent.id)
    assert counts(job) == (3, 1, 0, 0, 1, 1, 0) and job.status == pb.JOB_STATUS_RUNNING
    assert job.progress == pytest.approx(200 / 3)

    await control(stub, kids[2].id, pb.CONTROL_ACTION_CANCEL)
    job = await get(stub, parent.id)
    assert counts(job) == (3, 0, 0, 0, 1, 1, 1) and job.progress == 100
    assert job.status == pb.JOB_STATUS_FAILED and job.HasField("finished_at")
    history = (await stub.GetJob(pb.GetJobRequest(job_id=parent.id, include_history=True))).history
    assert [(e.to_status, e.actor) for e in history][-1] == (pb.JOB_STATUS_FAILED, "collection")

    # Retrying the failed child brings the parent back to running; completing it completes it.
    await control(stub, kids[1].id, pb.CONTROL_ACTION_RETRY)
    assert (await get(stub, parent.id)).status == pb.JOB_STATUS_RUNNING
    await run_child(stub, await get(stub, kids[1].id), "completed")
    job = await get(stub, parent.id)
    assert job.status == pb.JOB_STATUS_COMPLETED and job.stage == pb.JOB_STAGE_DONE


async def test_cancel_pause_resume_and_retry_on_a_parent_apply_to_its_children(stub: Stub) -> None:
    parent = await collection(stub, 4)
    kids = await children(stub, parent.id)
    await run_child(stub, kids[0], "completed")
    await run_child(stub, kids[1], "running")

    paused = await control(stub, parent.id, pb.CONTROL_ACTION_PAUSE)
    assert paused.status == pb.JOB_STATUS_PAUSED and counts(paused) == (4, 0, 0, 3, 1, 0, 0)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await control(stub, parent.id, pb.CONTROL_ACTION_PAUSE)
    assert info.value.code() is grpc.StatusCode.FAILED_PRECONDITION

    resumed = await control(stub, parent.id, pb.CONTROL_ACTION_RESUME)
    assert resumed.status == pb.JOB_STATUS_RUNNING and counts(resumed) == (4, 3, 0, 0, 1, 0, 0)

    cancelled = await control(stub, parent.id, pb.CONTROL_ACTION_CANCEL)
    assert counts(cancelled) == (4, 0, 0, 0, 1, 0, 3)
    assert cancelled.status == pb.JOB_STATUS_COMPLETED, "one entry completed, the rest were cancelled"
    assert [k.status for k in await children(stub, parent.id)] == [pb.JOB_STATUS_COMPLETED] + [
        pb.JOB_STATUS_CANCELLED
    ] * 3

    retried = await control(stub, parent.id, pb.CONTROL_ACTION_RETRY)
    assert retried.status == pb.JOB_STATUS_RUNNING and counts(retried) == (4, 3, 0, 0, 1, 0, 0)
    everything = await collection(stub, 2)
    assert (await control(stub, everything.id, pb.CONTROL_ACTION_CANCEL)).status == pb.JOB_STATUS_CANCELLED


async def test_deleting_a_parent_deletes_its_children_and_says_which(stub: Stub) -> None:
    parent = await collection(stub, 3)
    kids = await children(stub, parent.id)
    # Deleting one child: the parent counts one entry less.
    await stub.DeleteJob(pb.DeleteJobRequest(job_id=kids[2].id))
    assert (await get(stub, parent.id)).collection.total == 2

    reply = await stub.DeleteJob(pb.DeleteJobRequest(job_id=parent.id))
    assert reply.job.id == parent.id and sorted(reply.removed_job_ids) == sorted(k.id for k in kids[:2])
    for job_id in [parent.id, kids[0].id, kids[1].id]:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await get(stub, job_id)
        assert info.value.code() is grpc.StatusCode.NOT_FOUND
    single = await create(stub)
    assert list((await stub.DeleteJob(pb.DeleteJobRequest(job_id=single.id))).removed_job_ids) == []


async def test_the_top_level_list_hides_children_and_a_parent_lists_them_in_pages(stub: Stub) -> None:
    single = await create(stub)
    parent = await collection(stub, 5)
    top = await stub.ListJobs(pb.ListJobsRequest())
    assert [j.id for j in top.jobs] == [parent.id, single.id]
    paged = await children(stub, parent.id, page_size=2)
    assert [k.entry_index for k in paged] == [1, 2, 3, 4, 5]
    queued_only = await stub.ListJobs(
        pb.ListJobsRequest(parent_id=parent.id, statuses=[pb.JOB_STATUS_FAILED])
    )
    assert list(queued_only.jobs) == []
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.ListJobs(pb.ListJobsRequest(parent_id="00000000-0000-4000-8000-000000000000"))
    assert info.value.code() is grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.ListJobs(pb.ListJobsRequest(parent_id=parent.id, page_token=top.next_page_token or "x"))
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_the_change_feed_carries_the_parent_when_a_child_changes(stub: Stub) -> None:
    parent = await collection(stub, 2)
    kids = await children(stub, parent.id)
    call = stub.WatchJobs(pb.WatchJobsRequest())
    await call.initial_metadata()
    seen: list[pb.JobChange] = []

    async def read() -> None:
        async for change in call:
            seen.append(change)
            if change.job.id == parent.id and change.job.collection.running == 1:
                return

    reader = asyncio.create_task(read())
    try:
        await run_child(stub, kids[0], "running")
        await asyncio.wait_for(reader, timeout=10)
    finally:
        call.cancel()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
            await reader
    assert {c.job.id for c in seen} >= {kids[0].id, parent.id}


async def test_an_entry_refused_by_the_url_policy_is_never_retried(stub: Stub) -> None:
    parent = await collection(stub, 2, refused=[1, 2])
    assert parent.status == pb.JOB_STATUS_FAILED
    kids = await children(stub, parent.id)
    for job_id in (kids[0].id, parent.id):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await control(stub, job_id, pb.CONTROL_ACTION_RETRY)
        assert info.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert [k.status for k in await children(stub, parent.id)] == [pb.JOB_STATUS_FAILED] * 2


async def test_concurrent_reports_and_child_changes_lose_nothing(stub: Stub) -> None:
    parent = await claimed_parent(stub)
    replies = await asyncio.gather(*(report(stub, parent, entries(20)) for _ in range(4)))
    assert all(r.accepted for r in replies) and sorted(r.created for r in replies) == [0, 0, 0, 20]
    kids = await children(stub, parent.id)
    assert len(kids) == 20

    # Twenty children finish at once: every one is counted (the parent's row is locked each time).
    claims = await asyncio.gather(
        *(stub.ClaimJob(pb.ClaimJobRequest(job_id=k.id, worker_id=f"w{i}")) for i, k in enumerate(kids))
    )
    finished = [
        pb.CompleteJobRequest(
            job_id=c.job.id, attempt=c.attempt, filename="a", output_path="x/a", size=1, sha256=SHA
        )
        for c in claims[:10]
    ]
    await asyncio.gather(
        *(stub.CompleteJob(f) for f in finished),
        *(
            stub.FailJob(
                pb.FailJobRequest(job_id=c.job.id, attempt=c.attempt, error_code="GONE", error_message="x")
            )
            for c in claims[10:]
        ),
    )
    job = await get(stub, parent.id)
    assert counts(job) == (20, 0, 0, 0, 10, 10, 0) and job.status == pb.JOB_STATUS_FAILED


async def test_a_cancel_of_the_collection_racing_its_children_never_deadlocks(stub: Stub) -> None:
    parent = await collection(stub, 12)
    kids = await children(stub, parent.id)
    claims = [await stub.ClaimJob(pb.ClaimJobRequest(job_id=k.id, worker_id="w")) for k in kids]
    completions = [
        stub.CompleteJob(
            pb.CompleteJobRequest(
                job_id=c.job.id, attempt=c.attempt, filename="a", output_path="x/a", size=1, sha256=SHA
            )
        )
        for c in claims
    ]
    cancel = stub.ControlJob(pb.ControlJobRequest(job_id=parent.id, action=pb.CONTROL_ACTION_CANCEL))
    results = await asyncio.gather(*completions[:6], cancel, *completions[6:])  # any failure raises here
    job = await get(stub, parent.id)
    statuses = [k.status for k in await children(stub, parent.id)]
    completed = statuses.count(pb.JOB_STATUS_COMPLETED)
    assert completed == sum(1 for r in results if isinstance(r, pb.FinishJobResponse) and r.accepted)
    assert counts(job) == (12, 0, 0, 0, completed, 0, 12 - completed)


async def test_daily_figures_count_the_downloads_not_the_collection(stub: Stub) -> None:
    parent = await collection(stub, 3)
    kids = await children(stub, parent.id)
    await run_child(stub, kids[0], "completed")
    await run_child(stub, kids[1], "completed")
    await run_child(stub, kids[2], "failed")
    assert (await get(stub, parent.id)).status == pb.JOB_STATUS_FAILED
    totals = (await stub.GetStats(pb.GetStatsRequest(days=1))).totals
    assert (totals.completed, totals.failed, totals.bytes_downloaded) == (2, 1, 6)
