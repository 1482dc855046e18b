"""A rogue `/worker` connection, holding the valid worker token, cannot take over another's job.

The attack (issue 11): a second connection that never claimed a job reads its attempt over REST
and sends progress with a huge seq, a forged `completed` and a `failed` for it. Only the
connection that claimed the attempt, or its reconnection proven by the claim's secret, may
report for the job, finish it, or receive its control messages.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
from pathlib import Path
from typing import Any

import aiohttp

from haul.contract.events import WORKER_NAMESPACE
from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from tests.integration.sio_clients import WORKER_TOKEN, Recorder, progress, worker
from tests.support.inprocess import Stack, gateway_settings, start_gateway
from tests.support.worker_barrage import counter
from worker.link import GatewayLink
from worker.samples import Sample

URL = "https://media.example/clip.mp4"
HUGE_SEQ = 2**62


async def claimed_job(stack_stub: pb_grpc.JobStoreServiceStub, legit: Recorder) -> tuple[str, dict[str, Any]]:
    job_id = str((await stack_stub.CreateJob(pb.CreateJobRequest(url=URL))).job.id)
    claim = await legit.call("claim", {"jobId": job_id})
    assert claim["ok"] and claim["attempt"] == 1
    return job_id, claim


def completed(job_id: str, attempt: int, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"jobId": job_id, "attempt": attempt, "seq": HUGE_SEQ, "filename": "clip.mp4",
            "outputPath": f"{job_id}/clip.mp4", "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            **extra}  # fmt: skip


def place_file(stack: Stack, job_id: str, data: bytes) -> None:
    (stack.data_dir / job_id).mkdir(parents=True, exist_ok=True)
    (stack.data_dir / job_id / "clip.mp4").write_bytes(data)


async def stored(stack_stub: pb_grpc.JobStoreServiceStub, job_id: str) -> pb.Job:
    return (await stack_stub.GetJob(pb.GetJobRequest(job_id=job_id))).job


async def test_a_rogue_connection_cannot_report_finish_or_steer_a_job_it_did_not_claim(
    stack: Stack, stack_stub: pb_grpc.JobStoreServiceStub, worker_pair: tuple[Recorder, Recorder]
) -> None:
    legit, rogue = worker_pair
    job_id, claim = await claimed_job(stack_stub, legit)
    secret = claim["claimSecret"]
    async with aiohttp.ClientSession() as http:  # the attempt is public: the rogue reads it
        attempt = (await (await http.get(f"{stack.base_url}/downloads/{job_id}")).json())["attempt"]
    assert attempt == 1
    refused_before = counter(stack, "progress", "not_claimant")

    forged_meta = {
        "title": "PWNED",
        "thumbnail": "https://evil.example/t.png",
        "extractor": "x",
        "duration": 1.0,
    }
    await rogue.emit(
        "progress", progress(job_id, attempt, HUGE_SEQ, 99.5, downloadedBytes=2**50, meta=forged_meta)
    )
    await rogue.emit("progress", progress(job_id, attempt, HUGE_SEQ, 99.5, claimSecret="A" * 22))
    await legit.emit("progress", progress(job_id, attempt, 1, 10.0, downloadedBytes=100, claimSecret=secret))
    await asyncio.sleep(0.8)  # a few flush intervals
    job = await stored(stack_stub, job_id)
    assert (job.progress, job.downloaded_bytes, job.progress_seq, job.meta.title) == (10.0, 100, 1, "")
    assert counter(stack, "progress", "not_claimant") == refused_before + 2

    data = b"the real download"
    place_file(stack, job_id, data)
    for event, payload in (
        ("completed", completed(job_id, attempt, data)),
        ("completed", completed(job_id, attempt, data, claimSecret="B" * 22)),
        ("failed", {"jobId": job_id, "attempt": attempt, "seq": HUGE_SEQ, "errorCode": "X", "message": "m"}),
    ):
        assert await rogue.call(event, payload) == {"ok": False, "refusal": "not_claimant"}
    assert (await stored(stack_stub, job_id)).status == pb.JOB_STATUS_RUNNING

    # The control channel stayed with the claimer: a REST cancel reaches it, not the rogue.
    async with aiohttp.ClientSession() as http:
        assert (await http.post(f"{stack.base_url}/downloads/{job_id}/cancel")).status == 200
    assert (await legit.wait_for("control", {"jobId": job_id}))["action"] == "cancel"
    await asyncio.sleep(0.3)
    assert not [c for c in rogue.received if c[0] == "control"]


async def test_a_completion_is_accepted_only_with_the_reported_file_in_place(
    stack: Stack, stack_stub: pb_grpc.JobStoreServiceStub, worker_pair: tuple[Recorder, Recorder]
) -> None:
    legit, _ = worker_pair
    job_id, claim = await claimed_job(stack_stub, legit)
    secret = claim["claimSecret"]
    data = b"the real download"
    refused_before = counter(stack, "completed", "file_mismatch")
    # Nothing there yet; then the wrong size and hash (the forged zero hash of size 1).
    assert await legit.call("completed", completed(job_id, 1, data, claimSecret=secret)) == {
        "ok": False, "refusal": "file_mismatch"}  # fmt: skip
    place_file(stack, job_id, data)
    forged = {**completed(job_id, 1, b"x", claimSecret=secret), "sha256": "0" * 64}
    assert await legit.call("completed", forged) == {"ok": False, "refusal": "file_mismatch"}
    outside = {**completed(job_id, 1, data, claimSecret=secret), "filename": "../clip.mp4"}
    assert await legit.call("completed", outside) == {"ok": False, "refusal": "file_mismatch"}
    assert counter(stack, "completed", "file_mismatch") == refused_before + 3

    assert await legit.call("completed", completed(job_id, 1, data, claimSecret=secret)) == {"ok": True}
    job = await stored(stack_stub, job_id)
    assert (job.status, job.filename, job.size) == (pb.JOB_STATUS_COMPLETED, "clip.mp4", len(data))
    async with aiohttp.ClientSession() as http:
        served = await http.get(f"{stack.base_url}/files/{job_id}/download")
        assert served.status == 200 and await served.read() == data


async def test_a_reconnected_worker_proves_its_claim_on_another_gateway_and_keeps_working(
    stack: Stack,
    stack_stub: pb_grpc.JobStoreServiceStub,
    worker_pair: tuple[Recorder, Recorder],
    tmp_path: Path,
) -> None:
    legit, rogue = worker_pair
    job_id, claim = await claimed_job(stack_stub, legit)
    secret = claim["claimSecret"]
    await legit.close()  # the connection drops; the worker comes back on a second gateway
    settings = gateway_settings(stack.jobstore.port, stack.data_dir)
    runner, _app = await start_gateway(settings)
    back = worker()
    try:
        await back.connect(f"http://127.0.0.1:{settings.port}", WORKER_TOKEN)
        # Without the secret, or with another's, the reconnection is just another rogue.
        await back.emit("progress", progress(job_id, 1, 5, 70.0))
        await back.emit("progress", progress(job_id, 1, 6, 80.0, claimSecret="C" * 22))
        await asyncio.sleep(0.8)
        assert (await stored(stack_stub, job_id)).progress == 0.0
        await back.emit("progress", progress(job_id, 1, 7, 50.0, claimSecret=secret))
        for _ in range(50):
            if (await stored(stack_stub, job_id)).progress == 50.0:
                break
            await asyncio.sleep(0.1)
        assert (await stored(stack_stub, job_id)).progress == 50.0, "the proven reconnection reports again"
        data = b"finished after a reconnect"
        place_file(stack, job_id, data)
        rogue_try = completed(job_id, 1, data)
        assert await rogue.call("completed", rogue_try) == {"ok": False, "refusal": "not_claimant"}
        done = await back.call("completed", completed(job_id, 1, data, claimSecret=secret))
        assert done == {"ok": True}
        assert (await stored(stack_stub, job_id)).status == pb.JOB_STATUS_COMPLETED
    finally:
        await back.close()
        await runner.cleanup()


async def test_the_worker_link_keeps_reporting_after_its_connection_drops(
    stack: Stack, stack_stub: pb_grpc.JobStoreServiceStub
) -> None:
    job_id = str((await stack_stub.CreateJob(pb.CreateJobRequest(url=URL))).job.id)
    link = GatewayLink(stack.base_url, WORKER_TOKEN, "w1", 0.0, {})
    await asyncio.to_thread(link.connect)
    try:
        assert (await asyncio.to_thread(link.claim, job_id)).ok and link.claim_secret
        first_sid = link._client.get_sid(WORKER_NAMESPACE)
        # The network drops (the socket dies under the client), and it reconnects under a new sid.
        link._client.eio.ws.sock.shutdown(socket.SHUT_RDWR)
        for _ in range(100):
            sid = link._client.get_sid(WORKER_NAMESPACE)
            if link._client.connected and sid not in (None, first_sid):
                break
            await asyncio.sleep(0.1)
        assert link._client.get_sid(WORKER_NAMESPACE) not in (None, first_sid)
        await asyncio.to_thread(link.progress, Sample("downloading", 60.0, downloaded_bytes=600), True)
        for _ in range(50):
            if (await stored(stack_stub, job_id)).progress == 60.0:
                break
            await asyncio.sleep(0.1)
        assert (await stored(stack_stub, job_id)).progress == 60.0, (
            "the reconnected worker's progress was refused"
        )
    finally:
        await asyncio.to_thread(link.close)
