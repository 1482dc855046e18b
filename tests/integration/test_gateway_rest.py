"""The REST contract, end to end: real gateway, real jobstore, real PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import grpc
import pytest

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from tests.support.inprocess import Stack, gateway_settings, start_gateway
from tests.support.worker_barrage import connect_worker

URL = "https://media.example/clip.mp4"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def grpc_stub(stack: Stack) -> AsyncIterator[pb_grpc.JobStoreServiceStub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.jobstore.port}") as channel:
        yield pb_grpc.JobStoreServiceStub(channel)


async def submit(
    http: aiohttp.ClientSession, stack: Stack, body: Any = None, **headers: str
) -> aiohttp.ClientResponse:
    payload = {"url": URL} if body is None else body
    return await http.post(f"{stack.base_url}/downloads", json=payload, headers=headers)


async def error_of(response: aiohttp.ClientResponse) -> tuple[int, str]:
    body = await response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert "Traceback" not in body["error"]["message"]
    return response.status, body["error"]["code"]


async def completed_job(stack: Stack, stub: pb_grpc.JobStoreServiceStub, filename: str, data: bytes) -> str:
    """A job completed through jobstore's worker RPCs, with its file in place."""
    job = (await stub.CreateJob(pb.CreateJobRequest(url=URL))).job
    await stub.ClaimJob(pb.ClaimJobRequest(job_id=job.id, worker_id="test"))
    folder = stack.data_dir / job.id
    folder.mkdir(parents=True, exist_ok=True)
    if data:
        (folder / filename).write_bytes(data)
    reply = await stub.CompleteJob(
        pb.CompleteJobRequest(
            job_id=job.id, attempt=1, filename=filename, output_path=f"{job.id}/{filename}",
            size=len(data), sha256=hashlib.sha256(data).hexdigest(),
        )
    )  # fmt: skip
    assert reply.accepted
    return job.id


async def test_submit_returns_202_with_the_job_id_and_location(
    http: aiohttp.ClientSession, stack: Stack
) -> None:
    response = await submit(http, stack, {"url": URL, "type": "audio", "options": {"audioFormat": "mp3"}})
    assert response.status == 202
    body = await response.json()
    assert response.headers["Location"] == f"/downloads/{body['jobId']}"
    job = await (await http.get(f"{stack.base_url}/downloads/{body['jobId']}")).json()
    assert (job["status"], job["type"], job["options"]["audioFormat"]) == ("queued", "audio", "mp3")
    assert [h["to"] for h in job["history"]] == ["queued"]


async def test_idempotency_key_replays_and_refuses_a_different_body(
    http: aiohttp.ClientSession, stack: Stack
) -> None:
    first = await submit(http, stack, **{"Idempotency-Key": "order-42"})
    again = await submit(http, stack, **{"Idempotency-Key": "order-42"})
    assert first.status == again.status == 202
    assert (await first.json())["jobId"] == (await again.json())["jobId"]
    assert again.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    other = await submit(http, stack, {"url": URL + "?v=2"}, **{"Idempotency-Key": "order-42"})
    assert await error_of(other) == (422, "idempotency_key_reused")
    listed = await (await http.get(f"{stack.base_url}/downloads")).json()
    assert len(listed["items"]) == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"url": "ftp://example.com/file.bin"}, (422, "url_refused")),
        ({"url": "file:///etc/passwd"}, (422, "url_refused")),
        ({"url": "--exec=touch /tmp/owned"}, (422, "url_refused")),
        ({"url": "https://example.com/a b"}, (422, "url_refused")),
        ({"url": ""}, (422, "invalid_request")),
        ({}, (422, "invalid_request")),
        ({"url": URL, "type": "torrent"}, (422, "invalid_request")),
        ({"url": URL, "options": {"exec": "rm -rf /"}}, (422, "invalid_request")),
        ({"url": URL, "options": {"postprocessors": []}}, (422, "invalid_request")),
        ({"url": URL, "options": {"maxHeight": -1}}, (422, "invalid_request")),
        ({"url": URL, "extra": True}, (422, "invalid_request")),
        (["not", "an", "object"], (422, "invalid_request")),
    ],
)
async def test_bad_submissions_are_refused_at_once(
    http: aiohttp.ClientSession, stack: Stack, body: Any, expected: tuple[int, str]
) -> None:
    assert await error_of(await submit(http, stack, body)) == expected


async def test_malformed_bodies_get_400_415_and_413(http: aiohttp.ClientSession, stack: Stack) -> None:
    url = f"{stack.base_url}/downloads"
    bad_json = await http.post(url, data=b"{nope", headers={"Content-Type": "application/json"})
    assert await error_of(bad_json) == (400, "invalid_json")
    form = await http.post(url, data={"url": URL})
    assert await error_of(form) == (415, "unsupported_media_type")
    huge = await http.post(url, json={"url": URL + "?" + "a" * 200_000})
    assert await error_of(huge) == (413, "body_too_large")
    key = await submit(http, stack, **{"Idempotency-Key": "x" * 500})
    assert await error_of(key) == (400, "invalid_idempotency_key")


async def test_listing_pages_and_filters(http: aiohttp.ClientSession, stack: Stack) -> None:
    ids = [(await (await submit(http, stack)).json())["jobId"] for _ in range(5)]
    await http.post(f"{stack.base_url}/downloads/{ids[0]}/cancel")
    seen: list[str] = []
    cursor = ""
    for _ in range(5):
        page = await (
            await http.get(f"{stack.base_url}/downloads", params={"limit": "2", "cursor": cursor})
        ).json()
        seen += [j["id"] for j in page["items"]]
        cursor = page["nextCursor"] or ""
        if not cursor:
            break
    assert seen == list(reversed(ids))
    cancelled = await (await http.get(f"{stack.base_url}/downloads", params={"status": "cancelled"})).json()
    assert [j["id"] for j in cancelled["items"]] == [ids[0]]
    for params, expected in (
        ({"status": "sleeping"}, (400, "invalid_status")),
        ({"limit": "0"}, (400, "invalid_limit")),
        ({"limit": "many"}, (400, "invalid_limit")),
        ({"cursor": "forged"}, (400, "invalid_cursor")),
    ):
        assert await error_of(await http.get(f"{stack.base_url}/downloads", params=params)) == expected


async def test_job_ids_are_checked(http: aiohttp.ClientSession, stack: Stack) -> None:
    assert await error_of(await http.get(f"{stack.base_url}/downloads/123")) == (400, "invalid_job_id")
    missing = "00000000-0000-4000-8000-000000000000"
    assert await error_of(await http.get(f"{stack.base_url}/downloads/{missing}")) == (404, "not_found")
    assert await error_of(await http.post(f"{stack.base_url}/downloads/{missing}/cancel")) == (
        404,
        "not_found",
    )


async def test_control_actions_and_refused_transitions(http: aiohttp.ClientSession, stack: Stack) -> None:
    job_id = (await (await submit(http, stack)).json())["jobId"]
    base = f"{stack.base_url}/downloads/{job_id}"
    assert (await (await http.post(f"{base}/pause")).json())["status"] == "paused"
    assert (await (await http.post(f"{base}/resume")).json())["status"] == "queued"
    assert (await (await http.post(f"{base}/cancel")).json())["status"] == "cancelled"
    refused = await http.post(f"{base}/pause")
    body = await refused.json()
    assert refused.status == 409 and body["error"]["code"] == "conflict"
    assert "cancelled" in body["error"]["message"]
    assert (await (await http.post(f"{base}/retry")).json())["status"] == "queued"
    assert await error_of(await http.post(f"{base}/explode")) == (404, "not_found")


async def test_delete_removes_the_job_and_its_files(
    http: aiohttp.ClientSession, stack: Stack, grpc_stub: pb_grpc.JobStoreServiceStub
) -> None:
    job_id = await completed_job(stack, grpc_stub, "movie.mp4", b"movie bytes")
    assert (stack.data_dir / job_id / "movie.mp4").exists()
    deleted = await http.delete(f"{stack.base_url}/downloads/{job_id}")
    assert deleted.status == 200 and (await deleted.json())["deleted"] is True
    assert not (stack.data_dir / job_id).exists()
    assert (await http.get(f"{stack.base_url}/downloads/{job_id}")).status == 404


async def test_deleting_a_collection_removes_its_childrens_files_and_partials(
    http: aiohttp.ClientSession, stack: Stack, grpc_stub: pb_grpc.JobStoreServiceStub
) -> None:
    parent = (await grpc_stub.CreateJob(pb.CreateJobRequest(url=URL))).job
    claim = await grpc_stub.ClaimJob(pb.ClaimJobRequest(job_id=parent.id, worker_id="test"))
    entries = [pb.CollectionEntry(key=str(i), url=f"{URL}?item={i}", index=i) for i in (1, 2)]
    reply = await grpc_stub.ReportCollection(
        pb.ReportCollectionRequest(job_id=parent.id, attempt=claim.attempt, entries=entries, listed=2)
    )
    assert reply.accepted and reply.created == 2
    children = [job.id for job in (await grpc_stub.ListJobs(pb.ListJobsRequest(parent_id=parent.id))).jobs]
    folders = [root / child for child in children for root in (stack.data_dir, stack.settings.tmp_dir)]
    for folder in folders:
        folder.mkdir(parents=True)
        (folder / "part").write_bytes(b"x")
    deleted = await http.delete(f"{stack.base_url}/downloads/{parent.id}")
    assert deleted.status == 200
    assert [folder for folder in folders if folder.exists()] == []
    for child in children:
        assert (await http.get(f"{stack.base_url}/downloads/{child}")).status == 404


async def test_files_are_served_with_range_etag_and_a_safe_name(
    http: aiohttp.ClientSession, stack: Stack, grpc_stub: pb_grpc.JobStoreServiceStub
) -> None:
    data = bytes(range(256)) * 4096
    name = 'Ünï "clip"\r\n.mp4'
    job_id = await completed_job(stack, grpc_stub, name, data)
    meta = await (await http.get(f"{stack.base_url}/files/{job_id}")).json()
    assert meta["size"] == len(data) and meta["sha256"] == hashlib.sha256(data).hexdigest()
    whole = await http.get(f"{stack.base_url}/files/{job_id}/download")
    assert whole.status == 200 and hashlib.sha256(await whole.read()).hexdigest() == meta["sha256"]
    disposition = whole.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "\r" not in disposition and "\n" not in disposition
    part = await http.get(f"{stack.base_url}/files/{job_id}/download", headers={"Range": "bytes=1000-1999"})
    assert part.status == 206 and await part.read() == data[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    etag = whole.headers["ETag"]
    again = await http.get(f"{stack.base_url}/files/{job_id}/download", headers={"If-None-Match": etag})
    assert again.status == 304


async def test_files_only_for_completed_jobs_and_only_inside_the_job_folder(
    http: aiohttp.ClientSession, stack: Stack, grpc_stub: pb_grpc.JobStoreServiceStub
) -> None:
    queued = (await (await submit(http, stack)).json())["jobId"]
    assert await error_of(await http.get(f"{stack.base_url}/files/{queued}")) == (409, "not_completed")
    assert await error_of(await http.get(f"{stack.base_url}/files/{queued}/download")) == (
        409,
        "not_completed",
    )
    stack.data_dir.mkdir(parents=True, exist_ok=True)
    (stack.data_dir / "secret.txt").write_text("not yours")
    escaping = await completed_job(stack, grpc_stub, "../secret.txt", b"")
    assert await error_of(await http.get(f"{stack.base_url}/files/{escaping}/download")) == (
        404,
        "file_not_found",
    )


async def test_health_and_metrics(http: aiohttp.ClientSession, stack: Stack) -> None:
    # Serving, but not ready while no worker is connected: no job could start.
    health = await http.get(f"{stack.base_url}/health")
    report = await health.json()
    assert health.status == 503 and report["ready"] is False and report["serving"] is True
    assert report["status"] == "serving" and report["checks"]["aria2"]["workers"] == 0
    assert {"jobstore", "redis", "changeFeed", "aria2"} <= set(report["checks"])
    assert (await http.get(f"{stack.base_url}/health/serving")).status == 200
    worker = await connect_worker(stack)
    try:
        await worker.emit("hello", {"workerId": "health-check-worker", "tools": {"aria2": "ok (system)"}})
        for _ in range(100):  # hello is not acked: poll, bounded
            health = await http.get(f"{stack.base_url}/health")
            if health.status == 200:
                break
            await asyncio.sleep(0.05)
        report = await health.json()
        assert health.status == 200 and report["ready"] is True and report["status"] == "ready"
        assert report["checks"]["aria2"]["workers"] == 1
    finally:
        await worker.client.disconnect()
    await submit(http, stack)
    metrics = await (await http.get(f"{stack.base_url}/metrics")).text()
    assert 'haul_gateway_http_requests_total{method="POST",route="/downloads",status="202"}' in metrics


async def test_api_token_guards_rest_but_not_health(
    http: aiohttp.ClientSession, stack: Stack, tmp_path: Any
) -> None:
    settings = gateway_settings(stack.jobstore.port, tmp_path / "data", api_token="s3cret-api-token-123")
    runner, _app = await start_gateway(settings)
    base = f"http://127.0.0.1:{settings.port}"
    try:
        assert await error_of(await http.get(f"{base}/downloads")) == (401, "unauthorized")
        wrong = await http.get(f"{base}/downloads", headers={"Authorization": "Bearer nope"})
        assert await error_of(wrong) == (401, "unauthorized")
        assert (await http.get(f"{base}/metrics")).status == 401
        ok = await http.get(f"{base}/downloads", headers={"Authorization": "Bearer s3cret-api-token-123"})
        assert ok.status == 200
        assert (await http.get(f"{base}/health/serving")).status == 200
        assert (await http.get(f"{base}/health")).status == 503  # open, though no worker is connected
    finally:
        await runner.cleanup()


async def test_cors_allows_configured_origins_only(
    http: aiohttp.ClientSession, stack: Stack, tmp_path: Any
) -> None:
    settings = gateway_settings(stack.jobstore.port, tmp_path / "data", cors_origins=["https://ui.example"])
    runner, _app = await start_gateway(settings)
    base = f"http://127.0.0.1:{settings.port}"
    try:
        allowed = await http.get(f"{base}/downloads", headers={"Origin": "https://ui.example"})
        assert allowed.headers.get("Access-Control-Allow-Origin") == "https://ui.example"
        evil = await http.get(f"{base}/downloads", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in evil.headers
        preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        refused = await http.options(f"{base}/downloads", headers=preflight)
        assert refused.status == 403 and "Access-Control-Allow-Origin" not in refused.headers
        preflight["Origin"] = "https://ui.example"
        granted = await http.options(f"{base}/downloads", headers=preflight)
        assert granted.status == 204 and "POST" in granted.headers["Access-Control-Allow-Methods"]
    finally:
        await runner.cleanup()
