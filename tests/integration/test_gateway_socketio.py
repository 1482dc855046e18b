"""Socket.IO: browsers subscribe and follow jobs; workers claim, report and are told to stop."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import socketio

from gateway import views
from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from tests.integration.sio_clients import WORKER_TOKEN, Recorder, browser, progress, worker
from tests.support.inprocess import Stack, gateway_settings, start_gateway

URL = "https://media.example/clip.mp4"


@pytest.fixture
async def clients(stack: Stack) -> AsyncIterator[tuple[Recorder, Recorder]]:
    w, b = worker(), browser()
    await w.connect(stack.base_url, WORKER_TOKEN)
    await b.connect(stack.base_url)
    yield w, b
    await w.close()
    await b.close()


async def new_job(stack_stub: pb_grpc.JobStoreServiceStub) -> str:
    return str((await stack_stub.CreateJob(pb.CreateJobRequest(url=URL))).job.id)


async def test_subscribe_answers_with_a_snapshot(
    clients: tuple[Recorder, Recorder], stack_stub: pb_grpc.JobStoreServiceStub
) -> None:
    _, b = clients
    job_id = await new_job(stack_stub)
    one = await b.call("subscribe", {"jobId": job_id})
    assert one["job"]["id"] == job_id and one["job"]["status"] == "queued"
    listing = await b.call("subscribe", {"all": True})
    assert [j["id"] for j in listing["jobs"]] == [job_id]
    missing = await b.call("subscribe", {"jobId": "00000000-0000-4000-8000-000000000000"})
    assert missing["error"]["code"] == "not_found"
    for bad in ({"jobId": "nope"}, {"room": "x"}, "text", None, {"all": "yes"}):
        assert (await b.call("subscribe", bad))["error"]["code"] == "invalid_request"


async def test_worker_events_reach_the_browser_and_the_outcome_is_committed_before_the_ack(
    clients: tuple[Recorder, Recorder], stack_stub: pb_grpc.JobStoreServiceStub, stack: Stack
) -> None:
    w, b = clients
    job_id = await new_job(stack_stub)
    await b.call("subscribe", {"jobId": job_id})
    claim = await w.call("claim", {"jobId": job_id})
    secret = claim.pop("claimSecret")
    # maxItems is the server default (HAUL_COLLECTION_MAX_ITEMS), settled when the job was created:
    # the worker lists at most that many entries should the URL be a collection.
    assert claim == {"ok": True, "attempt": 1, "job": {"url": URL, "type": "auto", "maxItems": 500}}
    assert isinstance(secret, str) and len(secret) >= 16, "the claim's proof, for reconnecting"
    assert await w.call("claim", {"jobId": job_id}) == {"ok": False, "refusal": "already_claimed"}
    for seq in range(1, 6):
        await w.emit("progress", progress(job_id, 1, seq, seq * 10.0, totalBytes=1000, speed=2048.0))
    seen = await b.wait_for("progress", {"jobId": job_id, "progress": 50.0})
    assert seen["totalBytes"] == 1000 and seen["stage"] == "downloading"
    stored_then = (await stack_stub.GetJob(pb.GetJobRequest(job_id=job_id))).job
    assert (seen["attempt"], seen["updatedAt"]) == (1, views.job_json(stored_then)["updatedAt"]), (
        "events carry the version browsers order them by"
    )
    data = b"finished file"
    (stack.data_dir / job_id).mkdir(parents=True)
    (stack.data_dir / job_id / "clip.mp4").write_bytes(data)  # the gateway checks it is really there
    done = await w.call(
        "completed",
        {"jobId": job_id, "attempt": 1, "seq": 6, "filename": "clip.mp4", "outputPath": f"{job_id}/clip.mp4",
         "size": len(data), "sha256": hashlib.sha256(data).hexdigest()},
    )  # fmt: skip
    assert done == {"ok": True}
    stored = (await stack_stub.GetJob(pb.GetJobRequest(job_id=job_id))).job
    assert stored.status == pb.JOB_STATUS_COMPLETED and stored.progress_seq == 5
    completed = await b.wait_for("completed", {"jobId": job_id})
    assert completed == {"jobId": job_id, "filename": "clip.mp4", "size": len(data)}, (
        "no server path reaches the browsers"
    )
    await b.wait_for("job-update", {"jobId": job_id, "status": "completed"})
    assert not [c for c in w.received if c[0] == "control"], "the finishing worker must not be told to stop"


async def test_failed_events_reach_the_browser(
    clients: tuple[Recorder, Recorder], stack_stub: pb_grpc.JobStoreServiceStub
) -> None:
    w, b = clients
    job_id = await new_job(stack_stub)
    await b.call("subscribe", {"all": True})
    await w.call("claim", {"jobId": job_id})
    reply = await w.call(
        "failed", {"jobId": job_id, "attempt": 1, "seq": 1, "errorCode": "HTTP_ERROR", "message": "404"}
    )
    assert reply == {"ok": True}
    assert await b.wait_for("failed", {"jobId": job_id}) == {
        "jobId": job_id,
        "errorCode": "HTTP_ERROR",
        "message": "404",
    }


async def test_a_cancel_made_directly_through_grpc_reaches_the_worker(
    clients: tuple[Recorder, Recorder], stack_stub: pb_grpc.JobStoreServiceStub
) -> None:
    w, _ = clients
    paused, cancelled = await new_job(stack_stub), await new_job(stack_stub)
    for job_id in (paused, cancelled):
        await w.call("claim", {"jobId": job_id})
    await stack_stub.ControlJob(pb.ControlJobRequest(job_id=cancelled, action=pb.CONTROL_ACTION_CANCEL))
    await stack_stub.ControlJob(pb.ControlJobRequest(job_id=paused, action=pb.CONTROL_ACTION_PAUSE))
    assert (await w.wait_for("control", {"jobId": cancelled}))["action"] == "cancel"
    assert (await w.wait_for("control", {"jobId": paused}))["action"] == "pause"


async def test_a_worker_whose_attempt_was_superseded_is_told_to_abort(
    clients: tuple[Recorder, Recorder], stack_stub: pb_grpc.JobStoreServiceStub, stack: Stack
) -> None:
    w, _ = clients
    job_id = await new_job(stack_stub)
    await w.call("claim", {"jobId": job_id})
    await stack_stub.ControlJob(pb.ControlJobRequest(job_id=job_id, action=pb.CONTROL_ACTION_PAUSE))
    await w.wait_for("control", {"jobId": job_id, "action": "pause"})
    await stack_stub.ControlJob(pb.ControlJobRequest(job_id=job_id, action=pb.CONTROL_ACTION_RESUME))
    assert (await stack_stub.ClaimJob(pb.ClaimJobRequest(job_id=job_id, worker_id="other"))).attempt == 2
    # A late report from attempt 1 is answered with an abort: from the change feed (attempt 2
    # now owns the job) or from jobstore refusing the report, whichever comes first.
    await w.emit("progress", progress(job_id, 1, 99, 42.0))
    await w.wait_for("control", {"jobId": job_id, "action": "abort"})
    await asyncio.sleep(0.5)  # two flush intervals
    stored = (await stack_stub.GetJob(pb.GetJobRequest(job_id=job_id))).job
    assert (stored.attempt, stored.progress, stored.progress_seq) == (2, 0, 0)


@pytest.mark.parametrize("auth", [None, {"token": "wrong"}, {"token": ""}, {"nothing": 1}])
async def test_a_worker_without_the_right_token_is_refused(stack: Stack, auth: Any) -> None:
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(stack.base_url, namespaces=["/worker"], auth=auth, transports=["websocket"])
    await client.disconnect()


async def test_browsers_need_the_api_token_when_one_is_set(stack: Stack, tmp_path: Any) -> None:
    settings = gateway_settings(stack.jobstore.port, tmp_path / "data", api_token="s3cret-api-token-123")
    runner, _app = await start_gateway(settings)
    base = f"http://127.0.0.1:{settings.port}"
    try:
        refused = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.connect(base, namespaces=["/jobs"], transports=["websocket"])
        await refused.disconnect()
        allowed = browser()
        await allowed.connect(base, "s3cret-api-token-123")
        assert "jobs" in await allowed.call("subscribe", {"all": True})
        await allowed.close()
    finally:
        await runner.cleanup()


async def test_terminal_events_are_not_acked_while_jobstore_is_down(
    clients: tuple[Recorder, Recorder], stack_stub: pb_grpc.JobStoreServiceStub, stack: Stack
) -> None:
    w, _ = clients
    job_id = await new_job(stack_stub)
    await w.call("claim", {"jobId": job_id})
    await stack.jobstore.server.stop(0)
    reply = await w.call(
        "failed", {"jobId": job_id, "attempt": 1, "seq": 1, "errorCode": "X", "message": "m"}
    )
    assert reply == {"ok": False, "refusal": "unavailable"}
    async with aiohttp.ClientSession() as http:
        down = await http.get(f"{stack.base_url}/downloads")
        assert down.status == 503 and (await down.json())["error"]["code"] == "jobstore_unavailable"


async def test_a_worker_whose_job_was_requeued_without_it_is_told_to_abort(
    clients: tuple[Recorder, Recorder], stack_stub: pb_grpc.JobStoreServiceStub
) -> None:
    w, _ = clients
    job_id = await new_job(stack_stub)
    await w.call("claim", {"jobId": job_id})
    await w.emit("progress", progress(job_id, 1, 1, 5.0))
    # Someone else (here: a direct gRPC client; in life: the reaper) re-queues the attempt.
    failed = await stack_stub.FailJob(
        pb.FailJobRequest(job_id=job_id, attempt=1, error_code="STALLED", error_message="x", retryable=True)
    )
    assert failed.job.status == pb.JOB_STATUS_QUEUED
    control = await w.wait_for("control", {"jobId": job_id, "action": "abort"})
    assert control["reason"] == "the job is now queued"
