"""Several gateways share rooms through Redis; a gateway rides out a jobstore outage by itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import grpc
import pytest

from gateway.rooms import RoomsUnavailable
from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from tests.integration.processes import JobstoreProcess
from tests.integration.sio_clients import WORKER_TOKEN, browser, progress, worker
from tests.support.inprocess import gateway_settings, jobstore_settings, start_gateway, start_jobstore
from tests.support.servers import RedisServer, free_port

URL = "https://media.example/clip.mp4"


async def test_a_worker_on_gateway_a_reaches_a_browser_on_gateway_b(
    pg_url: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    jobstore = await start_jobstore(jobstore_settings(pg_url))
    shared = {"redis_url": redis_server.url(1)}
    runner_a, _ = await start_gateway(gateway_settings(jobstore.port, tmp_path / "data", **shared))
    runner_b, _ = await start_gateway(gateway_settings(jobstore.port, tmp_path / "data", **shared))
    w, b = worker(), browser()
    try:
        url_a = f"http://127.0.0.1:{runner_a.addresses[0][1]}"
        url_b = f"http://127.0.0.1:{runner_b.addresses[0][1]}"
        await w.connect(url_a, WORKER_TOKEN)
        await b.connect(url_b)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{jobstore.port}") as channel:
            job_id = (
                await pb_grpc.JobStoreServiceStub(channel).CreateJob(pb.CreateJobRequest(url=URL))
            ).job.id
        await b.call("subscribe", {"jobId": job_id})
        assert (await w.call("claim", {"jobId": job_id}))["ok"]
        await w.emit("progress", progress(job_id, 1, 1, 33.0))
        await b.wait_for("progress", {"jobId": job_id, "progress": 33.0})
        # The browser gets exactly one copy, although both gateways know of the change.
        await asyncio.sleep(0.5)
        copies = [e for e in b.received if e[0] == "progress" and e[1]["progress"] == 33.0]
        assert len(copies) == 1
        # A cancel through gateway B's REST reaches the worker connected to gateway A.
        async with aiohttp.ClientSession() as http:
            assert (await http.post(f"{url_b}/downloads/{job_id}/cancel")).status == 200
        assert (await w.wait_for("control", {"jobId": job_id}))["action"] == "cancel"
    finally:
        await w.close()
        await b.close()
        await runner_a.cleanup()
        await runner_b.cleanup()
        await jobstore.stop()


async def test_a_gateway_with_unreachable_shared_rooms_refuses_to_start(pg_url: str, tmp_path: Path) -> None:
    jobstore = await start_jobstore(jobstore_settings(pg_url))
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    try:
        with pytest.raises(RoomsUnavailable, match=r"no Socket\.IO round trip"):
            await start_gateway(gateway_settings(jobstore.port, tmp_path / "data", redis_url=dead_redis))
    finally:
        await jobstore.stop()


async def test_requests_get_503_while_jobstore_is_down_and_recover_without_a_restart(
    pg_url: str, tmp_path: Path
) -> None:
    process = JobstoreProcess(pg_url, tmp_path / "jobstore.log")
    process.start()
    runner, _ = await start_gateway(gateway_settings(process.port, tmp_path / "data"))
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession() as http:
            assert (await http.post(f"{base}/downloads", json={"url": URL})).status == 202
            process.kill()
            down = await http.get(f"{base}/downloads")
            body = await down.json()
            assert down.status == 503 and body["error"]["code"] == "jobstore_unavailable"
            assert "try again" in body["error"]["message"]
            assert (await http.get(f"{base}/health/serving")).status == 503
            await asyncio.to_thread(process.start)
            statuses = []
            for _ in range(50):  # the channel reconnects with a short backoff
                response = await http.get(f"{base}/downloads")
                statuses.append(response.status)
                if response.status == 200:
                    break
                await asyncio.sleep(0.1)
            assert statuses[-1] == 200, statuses
            assert len((await response.json())["items"]) == 1
            for _ in range(100):  # and the change feed resubscribes by itself
                if (await http.get(f"{base}/health/serving")).status == 200:
                    break
                await asyncio.sleep(0.1)
            assert (await http.get(f"{base}/health/serving")).status == 200
    finally:
        await runner.cleanup()
        process.kill()
