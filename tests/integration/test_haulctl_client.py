"""The `haul` command against real services: a whole stack with a worker, and an in-process
gateway with a scripted worker for the live progress path."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from haulctl import cli
from haulctl.follow import JobFollower, SocketWatch
from haulctl.gateway_api import GatewayApi
from tests.integration.haul_stack import Haul, run_haul_on_fresh_database
from tests.integration.sio_clients import WORKER_TOKEN, progress, worker
from tests.support.inprocess import Stack
from tests.support.media_server import MediaServer
from tests.support.servers import PostgresServer, RedisServer

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).with_name("haul")


def haul_command() -> list[str]:
    """The installed console script; `python -m haulctl` where the package is not reinstalled yet."""
    return [str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.exists() else [sys.executable, "-m", "haulctl"]


@pytest.fixture(scope="module")
def service(
    pg_server: PostgresServer,
    redis_server: RedisServer,
    media: MediaServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Haul]:
    """One whole haul (jobstore, gateway, two workers) shared by this module's tests."""
    yield from run_haul_on_fresh_database(
        pg_server, redis_server.url(5), media, tmp_path_factory.mktemp("haul")
    )


def haul(
    service: Haul, *argv: str, grpc_api: bool = False, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    where = ["--grpc", service.jobstore.address] if grpc_api else ["--url", service.base_url]
    return subprocess.run(
        [*haul_command(), *argv, *where], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def haul_json(service: Haul, *argv: str, grpc_api: bool = False) -> Any:
    done = haul(service, *argv, "--json", grpc_api=grpc_api)
    assert done.returncode == 0, (done.stdout, done.stderr)
    return json.loads(done.stdout)


def test_get_follows_a_download_live_saves_it_and_ls_lists_it(service: Haul, tmp_path: Path) -> None:
    source = service.media.media.sha256["video.mp4"]
    done = haul(
        service, "get", service.media.url("/video.mp4"), "--type", "video", "-o", str(tmp_path), "--json"
    )
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert (job["status"], job["sha256"]) == ("completed", source)
    assert [h["to"] for h in job["history"]] == ["queued", "running", "completed"]
    saved = Path(job["savedTo"])
    assert saved.parent == tmp_path and hashlib.sha256(saved.read_bytes()).hexdigest() == source
    assert "polling" not in done.stderr, f"the live socket was not used: {done.stderr}"

    listed = haul_json(service, "ls", "--status", "completed")
    assert job["id"] in [item["id"] for item in listed["items"]]
    text = haul(service, "ls")
    assert text.returncode == 0 and job["id"] in text.stdout and "completed" in text.stdout


def test_cancel_stops_a_slow_download_and_get_reports_it(service: Haul) -> None:
    service.media.slow_rate = 256 * 1024
    try:
        following = subprocess.Popen(
            [*haul_command(), "get", service.media.url("/slow/medium.bin"), "--json", "--url", service.base_url],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline, running = time.monotonic() + 30, []
        while not running and time.monotonic() < deadline:
            items = haul_json(service, "ls", "--status", "running")["items"]
            running = [j for j in items if j["url"].endswith("/slow/medium.bin") and j["downloadedBytes"] > 0]
            time.sleep(0.2)
        assert running, "the slow download never started"
        cancelled = haul_json(service, "cancel", running[0]["id"])
        assert cancelled["status"] == "cancelled"
        out, err = following.communicate(timeout=30)
        assert following.returncode == 4, err
        assert json.loads(out)["status"] == "cancelled"
        again = haul(service, "cancel", running[0]["id"])
        assert again.returncode == 1 and "cannot cancel a job that is cancelled" in again.stderr
    finally:
        service.media.slow_rate = 200 * 1024 * 1024


def test_grpc_show_and_ls_give_the_same_json_as_the_gateway(service: Haul) -> None:
    job_id = haul_json(service, "get", service.media.url("/video.mp4"), "--type", "video", "--no-wait")["id"]
    final = service.wait_for(job_id)
    assert final["status"] == "completed"
    assert haul_json(service, "show", job_id, grpc_api=True) == haul_json(service, "show", job_id)
    listed = haul_json(service, "ls", "--limit", "100", grpc_api=True)
    assert job_id in [item["id"] for item in listed["items"]]
    shown = haul(service, "show", job_id, grpc_api=True)
    assert shown.returncode == 0 and f"sha256    {final['sha256']}" in shown.stdout


def test_refused_urls_and_unknown_jobs_show_the_servers_message(service: Haul) -> None:
    refused = haul(service, "get", "ftp://media.example/file")
    assert refused.returncode == 1 and "haul: error: " in refused.stderr and "http" in refused.stderr
    over_grpc = haul(service, "get", "ftp://media.example/file", grpc_api=True)
    assert over_grpc.returncode == 1 and "url:" in over_grpc.stderr
    missing = haul(service, "show", "00000000-0000-4000-8000-000000000000", "--json")
    assert missing.returncode == 1 and json.loads(missing.stdout)["error"]["code"] == "not_found"
    deleted = haul_json(service, "get", service.media.url("/video.mp4"), "--no-wait")
    assert haul_json(service, "delete", deleted["id"])["deleted"] is True
    assert haul(service, "show", deleted["id"], grpc_api=True).returncode == 1


def test_get_polls_when_the_socket_cannot_be_opened(service: Haul, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: SocketWatch) -> None:
        raise ConnectionError("socket refused for this test")

    monkeypatch.setattr(SocketWatch, "open", refuse)
    stdout, stderr = io.StringIO(), io.StringIO()
    argv = ["get", service.media.url("/video.mp4"), "--type", "video", "--url", service.base_url]
    assert cli.run(argv, stdout, stderr, {}) == 0, stderr.getvalue()
    assert "socket refused for this test" in stderr.getvalue() and "polling" in stderr.getvalue()
    assert stdout.getvalue().startswith("completed")
    assert f"sha256     {service.media.media.sha256['video.mp4']}" in stdout.getvalue()


async def until(check: Callable[[], bool], failure: str, within: float = 10.0) -> None:
    for _ in range(int(within / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(failure)


async def test_progress_arrives_over_the_socket_as_the_worker_reports_it(stack: Stack) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.jobstore.port}") as channel:
        job_id = (
            await pb_grpc.JobStoreServiceStub(channel).CreateJob(
                pb.CreateJobRequest(url="https://m.example/a")
            )
        ).job.id
    api = GatewayApi(stack.base_url, None)
    follower = JobFollower(lambda: api.get(job_id), lambda: SocketWatch(stack.base_url, None, job_id, 10))
    seen: list[dict[str, Any]] = []
    following = asyncio.create_task(asyncio.to_thread(follower.run, seen.append))
    w = worker()
    await w.connect(stack.base_url, WORKER_TOKEN)
    try:
        await until(lambda: follower.mode == "live", "the socket never opened")
        assert (await w.call("claim", {"jobId": job_id}))["ok"]
        await w.emit("progress", progress(job_id, 1, 1, 50.0, totalBytes=1000))
        await until(lambda: any(j.get("progress") == 50.0 for j in seen), "progress never reached the client")
        data = b"finished"
        (stack.data_dir / job_id).mkdir(parents=True)
        (stack.data_dir / job_id / "a.bin").write_bytes(data)  # the gateway checks it is really there
        reply = await w.call(
            "completed",
            {"jobId": job_id, "attempt": 1, "seq": 2, "filename": "a.bin", "outputPath": f"{job_id}/a.bin",
             "size": len(data), "sha256": hashlib.sha256(data).hexdigest()},
        )  # fmt: skip
        assert reply == {"ok": True}
        final = await asyncio.wait_for(following, 5)
    finally:
        await w.close()
    assert final["status"] == "completed" and final["sha256"] == hashlib.sha256(data).hexdigest()
    assert follower.mode == "live", "every update came over the socket"
    statuses = [j["status"] for j in seen]
    assert statuses[0] == "queued" and "running" in statuses and statuses[-1] == "completed"
