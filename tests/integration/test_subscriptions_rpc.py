"""Subscriptions over jobstore's gRPC API, on PostgreSQL and on SQLite, with the check loop
running: the first check at once, the interval floor, "check now" while a check runs, a failed
check's lastError and its clearing, a later check that creates only the new entry, pause and
resume, and deletion that keeps the downloads. The test plays the worker through the RPCs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from jobstore.server import Jobstore
from tests.support.inprocess import jobstore_settings, start_jobstore
from tests.support.jobstore_jobs import Stub

FEED = "https://media.example/growing.xml"


@pytest.fixture
async def checking(database_url: str) -> AsyncIterator[Jobstore]:
    settings = jobstore_settings(database_url, subscription_min_interval=1, subscription_check_period=0.2)
    app = await start_jobstore(settings)
    yield app
    await app.stop()


@pytest.fixture
async def sub_stub(checking: Jobstore) -> AsyncIterator[Stub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{checking.port}") as channel:
        yield pb_grpc.JobStoreServiceStub(channel)


def entries(count: int) -> list[pb.CollectionEntry]:
    return [
        pb.CollectionEntry(
            key=f"item-{i}", url=f"https://media.example/item-{i}.mp3", title=f"Item {i}", index=i
        )
        for i in range(1, count + 1)
    ]


async def subscription(stub: Stub, subscription_id: str) -> pb.Subscription:
    reply = await stub.GetSubscription(pb.GetSubscriptionRequest(subscription_id=subscription_id))
    return reply.subscription


async def first_check(stub: Stub, subscription_id: str, after: str = "") -> pb.Job:
    """The check job the loop created (other than `after`), within a few seconds."""
    for _ in range(100):
        last = (await subscription(stub, subscription_id)).last_job_id
        if last and last != after:
            return (await stub.GetJob(pb.GetJobRequest(job_id=last))).job
        await asyncio.sleep(0.1)
    raise AssertionError("no check job was created")


async def claim(stub: Stub, job: pb.Job) -> int:
    reply = await stub.ClaimJob(pb.ClaimJobRequest(job_id=job.id, worker_id="resolver"))
    assert reply.accepted
    return reply.attempt


async def list_collection(
    stub: Stub, job: pb.Job, items: list[pb.CollectionEntry]
) -> pb.ReportCollectionResponse:
    attempt = await claim(stub, job)
    request = pb.ReportCollectionRequest(
        job_id=job.id, attempt=attempt, title="A growing feed", entries=items, listed=len(items)
    )
    reply = await stub.ReportCollection(request)
    assert reply.accepted
    return reply


async def test_an_interval_below_the_floor_is_refused_naming_it(stub: Stub) -> None:
    """`stub` is a jobstore with the default floor, HAUL_SUBSCRIPTION_MIN_INTERVAL=900."""
    for request in (
        pb.CreateSubscriptionRequest(url=FEED, interval_seconds=899),
        pb.CreateSubscriptionRequest(url=FEED, type=pb.JOB_TYPE_FILE),
        pb.CreateSubscriptionRequest(url="file:///etc/passwd"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.CreateSubscription(request)
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.CreateSubscription(pb.CreateSubscriptionRequest(url=FEED, interval_seconds=899))
    assert "at least 900" in (refused.value.details() or "")
    created = (await stub.CreateSubscription(pb.CreateSubscriptionRequest(url=FEED))).subscription
    assert created.interval_seconds == 3600 and created.enabled and created.title == ""
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.UpdateSubscription(
            pb.UpdateSubscriptionRequest(subscription_id=created.id, interval_seconds=10)
        )
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.GetSubscription(pb.GetSubscriptionRequest(subscription_id=str(uuid.uuid4())))
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND


async def test_a_check_lists_the_feed_and_a_later_one_creates_only_the_new_entry(sub_stub: Stub) -> None:
    created = await sub_stub.CreateSubscription(
        pb.CreateSubscriptionRequest(url=FEED, type=pb.JOB_TYPE_AUDIO, interval_seconds=3600, max_items=20)
    )
    sub = created.subscription
    job = await first_check(sub_stub, sub.id)
    assert (job.url, job.type, job.options.max_items, job.status) == (
        FEED,
        pb.JOB_TYPE_AUDIO,
        20,
        pb.JOB_STATUS_QUEUED,
    )
    # While the check is unfinished, "check now" answers with it instead of a second one.
    again = await sub_stub.CheckSubscription(pb.GetSubscriptionRequest(subscription_id=sub.id))
    assert (again.job_id, again.created) == (job.id, False)

    first = await list_collection(sub_stub, job, entries(2))
    assert first.created == 2
    listed = await subscription(sub_stub, sub.id)
    assert listed.title == "A growing feed" and listed.last_error == ""

    # The feed gained an item: the next check (while the first one's children are still queued)
    # creates exactly one new child.
    now = await sub_stub.CheckSubscription(pb.GetSubscriptionRequest(subscription_id=sub.id))
    assert now.created and now.job_id != job.id
    second_job = (await sub_stub.GetJob(pb.GetJobRequest(job_id=now.job_id))).job
    second = await list_collection(sub_stub, second_job, entries(3))
    assert second.created == 1
    assert (second.job.collection.total, second.job.collection.skipped) == (1, 2)
    children = await sub_stub.ListJobs(pb.ListJobsRequest(parent_id=second_job.id))
    assert [c.url for c in children.jobs] == ["https://media.example/item-3.mp3"]


async def test_a_failed_check_records_its_error_and_a_later_listing_clears_it(sub_stub: Stub) -> None:
    sub = (
        await sub_stub.CreateSubscription(pb.CreateSubscriptionRequest(url=FEED, interval_seconds=1))
    ).subscription
    job = await first_check(sub_stub, sub.id)
    attempt = await claim(sub_stub, job)
    failed = await sub_stub.FailJob(
        pb.FailJobRequest(
            job_id=job.id,
            attempt=attempt,
            error_code="COLLECTION_UNREADABLE",
            error_message="the feed is not valid XML",
            retryable=False,
        )
    )
    assert failed.accepted and failed.job.status == pb.JOB_STATUS_FAILED
    noted = await subscription(sub_stub, sub.id)
    assert noted.last_error == "COLLECTION_UNREADABLE: the feed is not valid XML"
    # Tried again at the next interval (one second here), and a listing clears the error.
    retry = await first_check(sub_stub, sub.id, after=job.id)
    assert retry.status == pb.JOB_STATUS_QUEUED
    await list_collection(sub_stub, retry, entries(1))
    cleared = await subscription(sub_stub, sub.id)
    assert cleared.last_error == "" and cleared.title == "A growing feed"
    assert cleared.last_checked_at.ToDatetime() > noted.last_checked_at.ToDatetime()


async def test_a_paused_subscription_is_not_checked_until_resumed(sub_stub: Stub) -> None:
    sub = (
        await sub_stub.CreateSubscription(pb.CreateSubscriptionRequest(url=FEED, interval_seconds=1))
    ).subscription
    job = await first_check(sub_stub, sub.id)
    await list_collection(sub_stub, job, [])
    paused = await sub_stub.UpdateSubscription(
        pb.UpdateSubscriptionRequest(subscription_id=sub.id, enabled=False)
    )
    assert not paused.subscription.enabled
    last = paused.subscription.last_job_id
    await asyncio.sleep(2.5)  # two intervals and more
    assert (await subscription(sub_stub, sub.id)).last_job_id == last
    resumed = await sub_stub.UpdateSubscription(
        pb.UpdateSubscriptionRequest(subscription_id=sub.id, enabled=True, interval_seconds=2, max_items=7)
    )
    assert resumed.subscription.enabled and resumed.subscription.interval_seconds == 2
    following = await first_check(sub_stub, sub.id, after=last)
    assert following.options.max_items == 7


async def test_deleting_a_subscription_keeps_its_jobs(sub_stub: Stub) -> None:
    sub = (await sub_stub.CreateSubscription(pb.CreateSubscriptionRequest(url=FEED))).subscription
    job = await first_check(sub_stub, sub.id)
    listed = await list_collection(sub_stub, job, entries(2))
    deleted = await sub_stub.DeleteSubscription(pb.GetSubscriptionRequest(subscription_id=sub.id))
    assert deleted.subscription.id == sub.id
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await subscription(sub_stub, sub.id)
    assert gone.value.code() is grpc.StatusCode.NOT_FOUND
    kept = await sub_stub.ListJobs(pb.ListJobsRequest(parent_id=listed.job.id))
    assert len(kept.jobs) == 2
    page = await sub_stub.ListSubscriptions(pb.ListSubscriptionsRequest())
    assert sub.id not in [s.id for s in page.subscriptions]


async def test_subscriptions_are_listed_newest_first_in_pages(sub_stub: Stub) -> None:
    made = [
        (await sub_stub.CreateSubscription(pb.CreateSubscriptionRequest(url=f"{FEED}?n={i}"))).subscription.id
        for i in range(5)
    ]
    seen: list[str] = []
    token = ""
    for _ in range(10):
        page = await sub_stub.ListSubscriptions(pb.ListSubscriptionsRequest(page_size=2, page_token=token))
        seen.extend(s.id for s in page.subscriptions)
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(made))
