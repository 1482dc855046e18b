"""Per-worker tokens on /worker: a token bound to worker A cannot claim as worker B."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import socketio

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from tests.integration.sio_clients import Recorder, worker
from tests.support.inprocess import Stack, gateway_settings, start_gateway

A_OLD, A_NEW, B = "worker-a-old-token-123", "worker-a-new-token-456", "worker-b-token-789012"


@pytest.fixture
async def gateway_url(stack: Stack, tmp_path: Any) -> AsyncIterator[str]:
    """A gateway that knows workers a (two tokens, mid-rotation) and b, and no shared token."""
    settings = gateway_settings(
        stack.jobstore.port, tmp_path / "data", worker_tokens=f"a={A_OLD},a={A_NEW},b={B}"
    )
    runner, _app = await start_gateway(settings)
    try:
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        await runner.cleanup()


async def new_job(stack: Stack) -> str:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.jobstore.port}") as channel:
        reply = await pb_grpc.JobStoreServiceStub(channel).CreateJob(
            pb.CreateJobRequest(url="https://media.example/clip.mp4")
        )
    return str(reply.job.id)


async def connected(url: str, token: str, worker_id: str) -> Recorder:
    client = worker()
    await client.connect(url, token)
    await client.call("hello", {"workerId": worker_id})  # acked, so it is handled before the claim
    return client


async def test_a_token_of_worker_a_cannot_claim_as_worker_b(gateway_url: str, stack: Stack) -> None:
    impostor = await connected(gateway_url, A_OLD, "b")
    try:
        job_id = await new_job(stack)
        assert await impostor.call("claim", {"jobId": job_id}) == {"ok": False, "refusal": "wrong_worker"}
        # Naming itself afterwards does not lift the refusal: the connection already lied.
        await impostor.call("hello", {"workerId": "a"})
        assert await impostor.call("claim", {"jobId": job_id}) == {"ok": False, "refusal": "wrong_worker"}
    finally:
        await impostor.close()
    honest = await connected(gateway_url, A_OLD, "a")
    try:
        claim = await honest.call("claim", {"jobId": job_id})
        assert claim["ok"] is True and claim["attempt"] == 1, "the job was left for its real claimant"
    finally:
        await honest.close()


async def test_old_and_new_tokens_of_one_worker_both_work_during_rotation(
    gateway_url: str, stack: Stack
) -> None:
    for token in (A_OLD, A_NEW):
        client = await connected(gateway_url, token, "a")
        try:
            assert (await client.call("claim", {"jobId": await new_job(stack)}))["ok"] is True
        finally:
            await client.close()
    b = await connected(gateway_url, B, "b")
    try:
        assert (await b.call("claim", {"jobId": await new_job(stack)}))["ok"] is True
    finally:
        await b.close()


@pytest.mark.parametrize("token", ["dev-worker-token", A_OLD[:-1], A_OLD + "x", ""])
async def test_a_wrong_token_is_refused(gateway_url: str, token: str) -> None:
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            gateway_url, namespaces=["/worker"], auth={"token": token}, transports=["websocket"]
        )
    await client.disconnect()
