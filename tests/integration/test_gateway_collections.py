"""The gateway's side of collections: a worker's `collection` report on `/worker` becomes
jobstore's ReportCollection, from the claimant only and within bounds, and REST lists a
collection's children (`GET /downloads?parent=`) apart from the top-level jobs."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from haul.contract.events import MAX_COLLECTION_ENTRIES
from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from tests.integration.sio_clients import Recorder
from tests.support.inprocess import Stack
from tests.support.worker_barrage import counter

FEED = "https://media.example/feed.xml"


def report(job_id: str, attempt: int, count: int, **extra: Any) -> dict[str, Any]:
    entries = [
        {"key": f"guid-{n}", "url": f"https://media.example/{n}.mp3", "title": f"Episode {n}", "index": n}
        for n in range(1, count + 1)
    ]
    return {"jobId": job_id, "attempt": attempt, "seq": 1, "title": "A feed", "listed": count,
            "truncated": False, "entries": entries, **extra}  # fmt: skip


async def claimed(
    stack_stub: pb_grpc.JobStoreServiceStub, legit: Recorder, url: str = FEED
) -> tuple[str, str]:
    job_id = str((await stack_stub.CreateJob(pb.CreateJobRequest(url=url))).job.id)
    claim = await legit.call("claim", {"jobId": job_id})
    assert claim["ok"] and claim["attempt"] == 1
    return job_id, str(claim["claimSecret"])


async def children(stack_stub: pb_grpc.JobStoreServiceStub, job_id: str) -> list[pb.Job]:
    return list((await stack_stub.ListJobs(pb.ListJobsRequest(parent_id=job_id, page_size=500))).jobs)


async def test_the_claimant_reports_a_collection_once_and_a_resend_creates_nothing(
    stack: Stack, stack_stub: pb_grpc.JobStoreServiceStub, worker_pair: tuple[Recorder, Recorder]
) -> None:
    legit, _ = worker_pair
    job_id, secret = await claimed(stack_stub, legit)
    payload = report(job_id, 1, 3, claimSecret=secret)
    payload["entries"][1]["refused"] = "the entry's URL is refused: file:// is not allowed"
    assert await legit.call("collection", payload) == {"ok": True}
    assert await legit.call("collection", payload) == {"ok": True}  # the ack was lost: resent
    kids = await children(stack_stub, job_id)
    assert [(k.entry_index, k.meta.title, k.status) for k in kids] == [
        (1, "Episode 1", pb.JOB_STATUS_QUEUED),
        (2, "Episode 2", pb.JOB_STATUS_FAILED),
        (3, "Episode 3", pb.JOB_STATUS_QUEUED),
    ]
    assert kids[1].error_code == "ENTRY_REFUSED"
    parent = (await stack_stub.GetJob(pb.GetJobRequest(job_id=job_id))).job
    assert (parent.collection.title, parent.collection.total, parent.collection.listed) == ("A feed", 3, 3)


async def test_a_rogue_connection_cannot_report_a_collection_for_a_job_it_did_not_claim(
    stack: Stack, stack_stub: pb_grpc.JobStoreServiceStub, worker_pair: tuple[Recorder, Recorder]
) -> None:
    legit, rogue = worker_pair
    job_id, _secret = await claimed(stack_stub, legit)
    refused_before = counter(stack, "collection", "not_claimant")
    for payload in (report(job_id, 1, 2), report(job_id, 1, 2, claimSecret="C" * 22)):
        assert await rogue.call("collection", payload) == {"ok": False, "refusal": "not_claimant"}
    assert counter(stack, "collection", "not_claimant") == refused_before + 2
    assert await children(stack_stub, job_id) == []
    job = (await stack_stub.GetJob(pb.GetJobRequest(job_id=job_id))).job
    assert (job.status, job.HasField("collection")) == (pb.JOB_STATUS_RUNNING, False)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"entries": [{"key": "", "url": "https://e.example/1", "index": 1}]}, id="empty-key"),
        pytest.param({"title": "x" * 1025}, id="long-title"),
        pytest.param({"title": "a\x00b"}, id="nul-title"),
        pytest.param({"entries": [{"key": "k", "url": "h" * 8193, "index": 1}]}, id="long-url"),
        pytest.param(
            {"entries": [{"key": "k", "url": "https://e.example/", "index": -1}]}, id="negative-index"
        ),
        pytest.param({"listed": "3"}, id="listed-as-text"),
        pytest.param({"entries": [{"key": "k", "url": "u", "index": 1, "extra": 1}]}, id="unknown-field"),
    ],
)
async def test_a_malformed_collection_report_is_refused_as_invalid(
    stack: Stack,
    stack_stub: pb_grpc.JobStoreServiceStub,
    worker_pair: tuple[Recorder, Recorder],
    change: dict[str, Any],
) -> None:
    legit, _ = worker_pair
    job_id, secret = await claimed(stack_stub, legit)
    assert await legit.call("collection", {**report(job_id, 1, 1, claimSecret=secret), **change}) == {
        "ok": False, "refusal": "invalid"}  # fmt: skip
    assert await children(stack_stub, job_id) == []


async def test_a_report_past_the_hard_cap_of_entries_is_refused_as_invalid(
    stack: Stack, stack_stub: pb_grpc.JobStoreServiceStub, worker_pair: tuple[Recorder, Recorder]
) -> None:
    legit, _ = worker_pair
    job_id, secret = await claimed(stack_stub, legit)
    payload = report(job_id, 1, MAX_COLLECTION_ENTRIES + 1, claimSecret=secret)
    payload["entries"] = [{"key": str(n), "url": "u", "index": n} for n in range(MAX_COLLECTION_ENTRIES + 1)]
    assert await legit.call("collection", payload) == {"ok": False, "refusal": "invalid"}
    assert await children(stack_stub, job_id) == []


async def test_rest_lists_a_collections_children_in_entry_order_and_the_top_level_without_them(
    stack: Stack, stack_stub: pb_grpc.JobStoreServiceStub, worker_pair: tuple[Recorder, Recorder]
) -> None:
    legit, _ = worker_pair
    single = str(
        (await stack_stub.CreateJob(pb.CreateJobRequest(url="https://media.example/one.mp4"))).job.id
    )
    job_id, secret = await claimed(stack_stub, legit)
    assert await legit.call("collection", report(job_id, 1, 5, claimSecret=secret)) == {"ok": True}
    async with aiohttp.ClientSession() as http:
        top = await (await http.get(f"{stack.base_url}/downloads")).json()
        assert [j["id"] for j in top["items"]] == [job_id, single]
        assert top["items"][0]["collection"]["total"] == 5 and top["items"][0]["parentId"] is None

        seen: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(5):  # 5 children, 2 a page: 3 pages
            query = f"parent={job_id}&limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = await (await http.get(f"{stack.base_url}/downloads?{query}")).json()
            seen += page["items"]
            cursor = page["nextCursor"] or ""
            if not cursor:
                break
        assert [(j["entryIndex"], j["parentId"], j["url"]) for j in seen] == [
            (n, job_id, f"https://media.example/{n}.mp3") for n in range(1, 6)
        ]
        failed = await (await http.get(f"{stack.base_url}/downloads?parent={job_id}&status=failed")).json()
        assert failed["items"] == []

        for parent, status, code in (
            ("not-a-uuid", 400, "invalid_parent"),
            (job_id.replace("-", ""), 400, "invalid_parent"),
            ("00000000-0000-4000-8000-000000000000", 404, "not_found"),
        ):
            answer = await http.get(f"{stack.base_url}/downloads?parent={parent}")
            assert answer.status == status
            assert (await answer.json())["error"]["code"] == code


async def test_a_submit_passes_items_and_max_items_to_jobstore_and_refuses_bad_ones(
    stack: Stack, stack_stub: pb_grpc.JobStoreServiceStub
) -> None:
    async with aiohttp.ClientSession() as http:
        good = {"url": FEED, "options": {"items": "1-3,7", "maxItems": 2}}
        created = await http.post(f"{stack.base_url}/downloads", json=good)
        assert created.status == 202, await created.text()
        job_id = (await created.json())["jobId"]
        stored = (await stack_stub.GetJob(pb.GetJobRequest(job_id=job_id))).job
        assert (stored.options.items, stored.options.max_items) == ("1-3,7", 2)
        for options in ({"items": "1-3;rm"}, {"maxItems": MAX_COLLECTION_ENTRIES + 1}, {"maxItems": -1}):
            refused = await http.post(f"{stack.base_url}/downloads", json={"url": FEED, "options": options})
            assert refused.status == 422, (options, await refused.text())
            assert (await refused.json())["error"]["code"] == "invalid_request"
