"""Nothing of a job is left on disk once it ended, and a crash while finishing is finished, not
repeated (issue 11). Every service is a real process; the media origin counts its requests."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from redis import Redis
from rq import Worker

from tests.integration.haul_stack import Haul, run_haul
from tests.support.media_server import MediaServer
from tests.support.servers import RedisServer
from worker.finish import CRASH_AT_ENV


@pytest.fixture
def haul(haul: Haul) -> Haul:
    """A stack of the test's own, with the slow origin at 1 MiB/s: slow enough to stop mid-transfer."""
    haul.media.slow_rate = 1024 * 1024
    return haul


@pytest.fixture
def shared(shared_haul: Haul) -> Haul:
    """The module's one stack, the same way, for a test that kills no process and reads only its
    own job and its own folder in TMP_DIR."""
    shared_haul.media.slow_rate = 1024 * 1024
    return shared_haul


def held_by_a_worker(haul: Haul, job_id: str) -> bool:
    """Whether an RQ worker of the pool runs an attempt of the job right now."""
    redis = Redis.from_url(haul.worker_env["HAUL_REDIS_URL"])
    return any(job_id in (w.get_current_job_id() or "") for w in Worker.all(connection=redis))


def paused_with_partials(haul: Haul, job_type: str) -> str:
    """A job paused mid-transfer, its partial file kept in TMP_DIR/{jobId} (no worker holds it)."""
    job_id = haul.submit(haul.media.url("/slow/large.bin"), job_type)
    haul.wait_until(job_id, lambda j: j["downloadedBytes"] > 2 * 1024 * 1024, within=30)
    assert haul.http.post(f"{haul.base_url}/downloads/{job_id}/pause").status_code == 200
    job = haul.wait_for(job_id, ("paused",), within=10)
    assert job["status"] == "paused", job
    deadline = time.monotonic() + 10
    while held_by_a_worker(haul, job_id):  # until the worker has stopped and let go of the job
        assert time.monotonic() < deadline, "the paused job's work horse never ended"
        time.sleep(0.1)
    assert any(p.is_file() for p in (haul.tmp_dir / job_id).iterdir()), "the paused job keeps its partial"
    return job_id


@pytest.mark.parametrize("job_type", ["video", "file"])
def test_deleting_a_paused_job_removes_its_partial_files(shared: Haul, job_type: str) -> None:
    job_id = paused_with_partials(shared, job_type)
    assert shared.http.delete(f"{shared.base_url}/downloads/{job_id}").status_code == 200
    assert not (shared.tmp_dir / job_id).exists(), "nothing of a deleted job stays in TMP_DIR"


def test_cancelling_a_paused_job_removes_its_partial_files(shared: Haul) -> None:
    job_id = paused_with_partials(shared, "file")
    assert shared.http.post(f"{shared.base_url}/downloads/{job_id}/cancel").status_code == 200
    assert shared.job(job_id)["status"] == "cancelled"
    assert not (shared.tmp_dir / job_id).exists(), "nothing of a cancelled job stays in TMP_DIR"


@pytest.mark.haul_env(HAUL_MAX_FILE_BYTES=str(4 * 1024 * 1024))
def test_aria2_over_the_size_budget_removes_its_partial_files(haul: Haul) -> None:
    job_id = haul.submit(haul.media.url("/slow/large.bin?rate=8000000"), "file")
    job = haul.wait_for(job_id, within=60)
    assert (job["status"], job["errorCode"]) == ("failed", "FILE_TOO_LARGE"), job
    assert not (haul.tmp_dir / job_id).exists(), "a budget failure keeps no partial file"


@pytest.mark.haul_env(HAUL_MAX_FILE_BYTES=str(4 * 1024 * 1024))
def test_repeated_endless_bodies_leave_nothing_on_disk(haul: Haul) -> None:
    jobs = [haul.submit(haul.media.url("/endless"), kind) for kind in ("file", "video", "file", "video")]
    for job_id in jobs:
        job = haul.wait_for(job_id, within=60)
        assert job["status"] == "failed" and job["errorCode"] in ("FILE_TOO_LARGE", "SIZE_LIMIT"), job
    assert [p.name for p in haul.tmp_dir.iterdir() if not p.name.startswith(".")] == []


def test_the_gateway_sweeps_partials_of_ended_jobs_at_start_and_keeps_paused_ones(haul: Haul) -> None:
    paused = paused_with_partials(haul, "file")
    done = haul.submit(haul.media.url("/medium.bin"), "file")
    assert haul.wait_for(done)["status"] == "completed"
    gone = str(uuid.uuid4())
    for job_id in (gone, done):  # as a worker killed before it could clean up would leave them
        (haul.tmp_dir / job_id).mkdir(exist_ok=True)
        (haul.tmp_dir / job_id / "download.part").write_bytes(b"\0" * 4096)
    haul.gateway.kill()
    haul.gateway.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any((haul.tmp_dir / j).exists() for j in (gone, done)):
        time.sleep(0.1)
    assert not (haul.tmp_dir / gone).exists(), "a job jobstore does not know"
    assert not (haul.tmp_dir / done).exists(), "a completed job"
    assert (haul.tmp_dir / paused).is_dir(), "a paused job's partials are never touched"


CRASH_STEPS = ["checked", "moved", "hashing", "hashed"]


@pytest.mark.parametrize(
    ("step", "job_type", "path"),
    [*((step, "file", "/medium.bin") for step in CRASH_STEPS), ("moved", "video", "/video.mp4")],
)
def test_a_horse_killed_while_finishing_is_finished_by_the_next_attempt_without_a_second_download(
    pg_url: str,
    redis_server: RedisServer,
    media: MediaServer,
    tmp_path: Path,
    step: str,
    job_type: str,
    path: str,
) -> None:
    env = {"HAUL_EGRESS_ALLOWED_NETWORKS": "127.0.0.0/8", "HAUL_HEARTBEAT_TIMEOUT": "3", CRASH_AT_ENV: step}
    for haul in run_haul(pg_url, redis_server.url(2), media, tmp_path, **env):
        job_id = haul.submit(media.url(path), job_type)
        # The first attempt's horse is SIGKILLed at `step`; the reaper queues attempt 2.
        requeued = haul.wait_until(job_id, lambda j: j["attempt"] >= 2, within=60)
        assert requeued["attempt"] == 2, requeued
        since = media.mark()
        job = haul.wait_for(job_id, within=60)
        assert job["status"] == "completed", job
        assert job["attempt"] == 2 and job["sha256"] == media.media.sha256[path.lstrip("/")], job
        assert [h["to"] for h in job["history"]].count("completed") == 1
        assert media.requests_for(path, since) == [], "attempt 2 fetched nothing again"
        assert [f.name for f in (haul.data_dir / job_id).iterdir()] == [job["filename"]]
        # The worker removes it once jobstore acknowledged the completion, just after the API says so.
        deadline = time.monotonic() + 10
        while (haul.tmp_dir / job_id).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not (haul.tmp_dir / job_id).exists(), "the finished job's temporary folder is gone"
