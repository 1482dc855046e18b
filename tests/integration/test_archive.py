"""The download archive over a real jobstore, on PostgreSQL and on SQLite: a completion records its
media's identity, a collection skips what the archive holds (unless redownload), the archive is
listed newest first in pages, and deleting an entry lets the media be downloaded again; and the
same through the gateway's REST routes (`GET /archive`, `DELETE /archive/{id}`)."""

from __future__ import annotations

from typing import Any

import aiohttp
import grpc
import pytest

from haul.jobstore.v1 import jobstore_pb2 as pb
from tests.support.inprocess import Stack
from tests.support.jobstore_jobs import SHA, Stub, create

FEED = "https://media.example/feed.xml"


def entry(n: int) -> pb.CollectionEntry:
    return pb.CollectionEntry(
        key=f"guid-{n}",
        url=f"https://media.example/episode-{n}.mp3",
        title=f"Episode {n}",
        index=n,
        archive_id=f"generic guid-{n}",
    )


async def download(
    stub: Stub, archive_id: str, url: str = "https://media.example/a.mp3", **fields: object
) -> pb.Job:
    """A single download, claimed and completed with this identity."""
    job = await create(stub, url=url, **fields)
    return await complete(stub, job, archive_id)


async def complete(stub: Stub, job: pb.Job, archive_id: str) -> pb.Job:
    claim = await stub.ClaimJob(pb.ClaimJobRequest(job_id=job.id, worker_id="w"))
    assert claim.accepted
    request = pb.CompleteJobRequest(
        job_id=job.id,
        attempt=claim.attempt,
        filename="a.mp3",
        output_path=f"{job.id}/a.mp3",
        size=3,
        sha256=SHA,
        meta=pb.JobMeta(title="A title", extractor="Generic"),
        archive_id=archive_id,
    )
    done = await stub.CompleteJob(request)
    assert done.accepted
    again = await stub.CompleteJob(request)  # a resent completion records nothing more
    assert again.accepted
    return done.job


async def archive(stub: Stub) -> list[pb.ArchiveEntry]:
    return list((await stub.ListArchive(pb.ListArchiveRequest(page_size=500))).entries)


async def report(
    stub: Stub, entries: list[pb.CollectionEntry], **options: object
) -> pb.ReportCollectionResponse:
    parent = await create(stub, url=FEED, options=pb.JobOptions(**options))  # type: ignore[arg-type]
    claim = await stub.ClaimJob(pb.ClaimJobRequest(job_id=parent.id, worker_id="resolver"))
    assert claim.accepted
    reply = await stub.ReportCollection(
        pb.ReportCollectionRequest(
            job_id=parent.id, attempt=claim.attempt, title="A podcast", entries=entries, listed=len(entries)
        )
    )
    assert reply.accepted
    return reply


async def children(stub: Stub, parent_id: str) -> list[pb.Job]:
    return list((await stub.ListJobs(pb.ListJobsRequest(parent_id=parent_id, page_size=500))).jobs)


async def test_a_completed_download_is_listed_in_the_archive_once(stub: Stub) -> None:
    job = await download(stub, "generic guid-1", url="https://media.example/episode-1.mp3")
    [listed] = await archive(stub)
    assert (listed.archive_id, listed.extractor, listed.media_id) == ("generic guid-1", "generic", "guid-1")
    assert (listed.url, listed.title, listed.job_id) == (job.url, "A title", job.id)
    assert listed.HasField("created_at") and listed.id

    other = await download(stub, "generic guid-1")
    assert other.status == pb.JOB_STATUS_COMPLETED, "a single submit is downloaded whatever the archive holds"
    assert [e.job_id for e in await archive(stub)] == [job.id], "one entry per identity: the first download's"


async def test_a_download_without_a_media_id_is_archived_by_its_url(stub: Stub) -> None:
    url = "https://files.example/big.iso"
    await download(stub, f"url {url}", url=url)
    [listed] = await archive(stub)
    assert (listed.extractor, listed.media_id, listed.url) == ("url", url, url)


async def test_a_completion_without_an_identity_records_nothing(stub: Stub) -> None:
    await download(stub, "")
    assert await archive(stub) == []


@pytest.mark.parametrize(
    "archive_id", ["Generic guid-1", "generic", "generic ", "generic a\nb", "x " + "y" * 1100]
)
async def test_an_identity_of_another_form_is_refused(stub: Stub, archive_id: str) -> None:
    job = await create(stub)
    claim = await stub.ClaimJob(pb.ClaimJobRequest(job_id=job.id, worker_id="w"))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.CompleteJob(
            pb.CompleteJobRequest(
                job_id=job.id,
                attempt=claim.attempt,
                filename="a",
                output_path="a",
                size=1,
                sha256=SHA,
                archive_id=archive_id,
            )
        )
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert await archive(stub) == []


async def test_the_archive_outlives_its_job(stub: Stub) -> None:
    job = await download(stub, "generic guid-7")
    await stub.DeleteJob(pb.DeleteJobRequest(job_id=job.id))
    assert [e.archive_id for e in await archive(stub)] == ["generic guid-7"]


async def test_a_collection_skips_the_archived_entries_and_counts_them(stub: Stub) -> None:
    await download(stub, "generic guid-1")
    await download(stub, "generic guid-3")
    unknown = pb.CollectionEntry(key="no-id", url="https://media.example/x.mp3", title="X", index=5)
    reply = await report(stub, [entry(1), entry(2), entry(3), entry(4), unknown])
    assert reply.created == 3
    summary = reply.job.collection
    assert (summary.total, summary.queued, summary.skipped, summary.listed) == (3, 3, 2, 5)
    assert [c.entry_index for c in await children(stub, reply.job.id)] == [2, 4, 5]
    assert reply.job.status == pb.JOB_STATUS_RUNNING


async def test_a_collection_whose_every_entry_is_archived_completes_at_once(stub: Stub) -> None:
    for n in (1, 2, 3):
        await download(stub, f"generic guid-{n}")
    reply = await report(stub, [entry(1), entry(2), entry(3)])
    job = reply.job
    assert reply.created == 0 and await children(stub, job.id) == []
    assert (job.collection.total, job.collection.skipped, job.collection.completed) == (0, 3, 0)
    assert (job.status, job.stage, job.progress) == (pb.JOB_STATUS_COMPLETED, pb.JOB_STAGE_DONE, 100.0)
    assert job.HasField("finished_at")
    stored = (await stub.GetJob(pb.GetJobRequest(job_id=job.id))).job
    assert (stored.status, stored.collection.skipped) == (pb.JOB_STATUS_COMPLETED, 3)


async def test_redownload_ignores_the_archive(stub: Stub) -> None:
    await download(stub, "generic guid-1")
    reply = await report(stub, [entry(1), entry(2)], redownload=True)
    assert reply.created == 2 and reply.job.collection.skipped == 0
    assert reply.job.status == pb.JOB_STATUS_RUNNING


async def test_a_child_that_completes_joins_the_archive_and_a_second_listing_skips_it(stub: Stub) -> None:
    first = await report(stub, [entry(1), entry(2)])
    kids = await children(stub, first.job.id)
    await complete(stub, kids[0], "generic guid-1")
    second = await report(stub, [entry(1), entry(2)])
    assert second.created == 1 and second.job.collection.skipped == 1
    assert [c.entry_index for c in await children(stub, second.job.id)] == [2]


async def test_deleting_an_archive_entry_allows_a_new_download(stub: Stub) -> None:
    await download(stub, "generic guid-1")
    [listed] = await archive(stub)
    deleted = await stub.DeleteArchiveEntry(pb.DeleteArchiveEntryRequest(id=listed.id))
    assert deleted.entry == listed and await archive(stub) == []
    reply = await report(stub, [entry(1)])
    assert reply.created == 1 and reply.job.collection.skipped == 0

    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.DeleteArchiveEntry(pb.DeleteArchiveEntryRequest(id=listed.id))
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as malformed:
        await stub.DeleteArchiveEntry(pb.DeleteArchiveEntryRequest(id="not-a-uuid"))
    assert malformed.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_the_archive_is_listed_newest_first_in_pages(stub: Stub) -> None:
    for n in range(1, 6):
        await download(stub, f"generic guid-{n}")
    seen: list[str] = []
    token = ""
    for _ in range(10):
        page = await stub.ListArchive(pb.ListArchiveRequest(page_size=2, page_token=token))
        assert len(page.entries) <= 2
        seen.extend(e.archive_id for e in page.entries)
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"generic guid-{n}" for n in range(5, 0, -1)]
    with pytest.raises(grpc.aio.AioRpcError) as bad_token:
        await stub.ListArchive(pb.ListArchiveRequest(page_token="bm90LWEtdG9rZW4"))
    assert bad_token.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def completed_download(stack: Stack, archive_id: str) -> str:
    client = stack.gateway.jobstore
    job = (await client.create(pb.CreateJobRequest(url="https://media.example/a.mp4"))).job
    claim = await client.claim(job.id, "archive-test")
    request = pb.CompleteJobRequest(
        job_id=job.id,
        attempt=claim.attempt,
        filename="a.mp4",
        output_path=f"{job.id}/a.mp4",
        size=3,
        sha256=SHA,
        meta=pb.JobMeta(title="Clip"),
        archive_id=archive_id,
    )
    assert (await client.complete(request)).accepted
    return str(job.id)


async def test_the_archive_is_listed_in_pages_and_an_entry_deleted(stack: Stack) -> None:
    jobs = [await completed_download(stack, f"generic clip-{n}") for n in range(3)]
    async with aiohttp.ClientSession(stack.base_url) as http:
        pages: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(5):
            async with http.get(
                "/archive", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
            ) as r:
                assert r.status == 200, await r.text()
                pages.append(await r.json())
            cursor = pages[-1]["nextCursor"] or ""
            if not cursor:
                break
        assert [len(p["items"]) for p in pages] == [2, 1]
        items = [item for page in pages for item in page["items"]]
        assert [i["archiveId"] for i in items] == ["generic clip-2", "generic clip-1", "generic clip-0"]
        newest = items[0]
        assert set(newest) == {
            "id",
            "archiveId",
            "extractor",
            "mediaId",
            "url",
            "title",
            "jobId",
            "createdAt",
        }
        assert (newest["extractor"], newest["mediaId"], newest["title"], newest["jobId"]) == (
            "generic",
            "clip-2",
            "Clip",
            jobs[2],
        )
        assert newest["createdAt"].endswith("Z")

        async with http.delete(f"/archive/{newest['id']}") as r:
            assert r.status == 204 and await r.read() == b""
        async with http.get("/archive") as r:
            assert [i["archiveId"] for i in (await r.json())["items"]] == ["generic clip-1", "generic clip-0"]
        async with http.delete(f"/archive/{newest['id']}") as r:
            assert r.status == 404 and (await r.json())["error"]["code"] == "not_found"
        async with http.delete("/archive/not-a-uuid") as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_archive_id"
        for query, code in (({"limit": 0}, "invalid_limit"), ({"cursor": "nope"}, "invalid_cursor")):
            async with http.get("/archive", params=query) as r:
                assert r.status == 400 and (await r.json())["error"]["code"] == code
