"""Rotating the service and API tokens without interruption, over real gRPC, REST and Socket.IO.

During a rotation jobstore accepts the old and the new service token, and the gateway the old and
the new API token; a third is refused. After it, whoever still holds the revoked token (an
attacker who copied it, say) is refused everywhere, while the new one goes on working.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import grpc
import pytest
import socketio

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from jobstore.server import Jobstore
from tests.support.inprocess import gateway_settings, jobstore_settings, start_gateway, start_jobstore

NEW_SERVICE, OLD_SERVICE = "service-token-2026-new-0123456789", "service-token-2025-old-0123456789"
NEW_API, OLD_API = "api-token-2026-new-0123456789", "api-token-2025-old-0123456789"
URL = "https://media.example/clip.mp4"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def list_jobs_as(port: int, token: str | None) -> grpc.StatusCode:
    """The status of a ListJobs call presenting `token` (none: no authorization header)."""
    metadata = [("authorization", f"Bearer {token}")] if token is not None else []
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            await pb_grpc.JobStoreServiceStub(channel).ListJobs(pb.ListJobsRequest(), metadata=metadata)
        except grpc.aio.AioRpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


async def rest_status(http: aiohttp.ClientSession, base: str, token: str) -> int:
    async with http.get(f"{base}/downloads", headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status


async def browser_connects(base: str, token: str) -> bool:
    client = socketio.AsyncClient(reconnection=False)
    try:
        await client.connect(
            base, namespaces=["/jobs"], auth={"token": token}, transports=["websocket"], wait_timeout=5
        )
    except socketio.exceptions.ConnectionError:
        return False
    finally:
        await client.disconnect()
    return True


async def test_jobstore_accepts_the_old_and_new_service_tokens_while_rotating_and_refuses_others(
    sqlite_url: str, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    jobstore: Jobstore = await start_jobstore(
        jobstore_settings(sqlite_url, service_token=f"{NEW_SERVICE},{OLD_SERVICE}")
    )
    try:
        assert await list_jobs_as(jobstore.port, NEW_SERVICE) is grpc.StatusCode.OK
        assert await list_jobs_as(jobstore.port, OLD_SERVICE) is grpc.StatusCode.OK
        assert (
            await list_jobs_as(jobstore.port, "service-token-2024-revoked-01234")
            is grpc.StatusCode.UNAUTHENTICATED
        )
        assert (
            await list_jobs_as(jobstore.port, f"{NEW_SERVICE},{OLD_SERVICE}")
            is grpc.StatusCode.UNAUTHENTICATED
        )
        assert await list_jobs_as(jobstore.port, None) is grpc.StatusCode.UNAUTHENTICATED
        # A gateway not yet moved (old token) and one already moved (new first, old kept) both
        # work; the second sends only its first token.
        for service_token in (OLD_SERVICE, f"{NEW_SERVICE},{OLD_SERVICE}"):
            settings = gateway_settings(jobstore.port, tmp_path / "data", service_token=service_token)
            runner, _app = await start_gateway(settings)  # waits for its WatchJobs stream: authorised
            try:
                async with http.post(
                    f"http://127.0.0.1:{settings.port}/downloads", json={"url": URL}
                ) as created:
                    assert created.status == 202, await created.text()
            finally:
                await runner.cleanup()
    finally:
        await jobstore.stop()

    # The rotation is over: jobstore keeps only the new token. The old one is now refused.
    jobstore = await start_jobstore(jobstore_settings(sqlite_url, service_token=NEW_SERVICE))
    try:
        assert await list_jobs_as(jobstore.port, OLD_SERVICE) is grpc.StatusCode.UNAUTHENTICATED
        assert await list_jobs_as(jobstore.port, NEW_SERVICE) is grpc.StatusCode.OK
    finally:
        await jobstore.stop()


async def test_the_api_accepts_both_tokens_while_rotating_and_refuses_a_revoked_one_after(
    sqlite_url: str, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    jobstore = await start_jobstore(jobstore_settings(sqlite_url))
    try:
        settings = gateway_settings(jobstore.port, tmp_path / "data", api_token=f"{NEW_API},{OLD_API}")
        runner, _app = await start_gateway(settings)
        base = f"http://127.0.0.1:{settings.port}"
        try:
            assert await rest_status(http, base, NEW_API) == 200
            assert await rest_status(http, base, OLD_API) == 200
            assert await rest_status(http, base, "api-token-2024-wrong-0123456789") == 401
            assert await rest_status(http, base, f"{NEW_API},{OLD_API}") == 401
            assert await browser_connects(base, NEW_API) and await browser_connects(base, OLD_API)
            assert not await browser_connects(base, "api-token-2024-wrong-0123456789")
        finally:
            await runner.cleanup()

        # After the rotation the gateway lists only the new token: the attacker's copy of the old
        # one opens neither REST, /metrics nor the browsers' socket.
        settings = gateway_settings(jobstore.port, tmp_path / "data", api_token=NEW_API)
        runner, _app = await start_gateway(settings)
        base = f"http://127.0.0.1:{settings.port}"
        try:
            assert await rest_status(http, base, OLD_API) == 401
            headers = {"Authorization": f"Bearer {OLD_API}"}
            async with http.get(f"{base}/metrics", headers=headers) as metrics:
                assert metrics.status == 401
            async with http.post(f"{base}/downloads", json={"url": URL}, headers=headers) as created:
                assert created.status == 401
            assert not await browser_connects(base, OLD_API)
            assert await rest_status(http, base, NEW_API) == 200 and await browser_connects(base, NEW_API)
        finally:
            await runner.cleanup()
    finally:
        await jobstore.stop()
