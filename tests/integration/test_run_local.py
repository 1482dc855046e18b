"""`make run`'s launcher: everything on one machine, Ctrl-C leaves nothing behind, and the next
start finds the old jobs and resumes the one that was running."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import grpc
import psutil
import pytest
import requests

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from tests.support.media_server import MEDIUM_SIZE, MediaServer
from tests.support.process_trees import wait_gone
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "deploy" / "run_local.py"


class Launcher:
    """deploy/run_local.py in a session of its own, as a terminal would run it."""

    def __init__(self, folder: Path) -> None:
        self.mark = uuid.uuid4().hex
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HAUL_")},
            "HAUL_RUN_MARK": self.mark,  # inherited by every process it starts
            "HAUL_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'haul.db'}",
            "HAUL_DATA_DIR": str(folder / "data"),
            "HAUL_TMP_DIR": str(folder / "tmp"),
            "HAUL_PORT": str(self.port),
            "HAUL_JOBSTORE_LISTEN": f"127.0.0.1:{free_port()}",
            "HAUL_WORKER_PROCESSES": "1",
            "HAUL_EGRESS_ALLOWED_NETWORKS": "127.0.0.0/8",
        }
        self.log_path = folder / "run.log"
        self.tmp_dir = folder / "tmp"
        self.listed: list[psutil.Process] = []  # its tree, listed before a signal
        self.proc: subprocess.Popen[bytes] | None = None

    def output(self, since: int = 0) -> str:
        return self.log_path.read_bytes()[since:].decode(errors="replace") if self.log_path.exists() else ""

    def start(self) -> None:
        since = len(self.output())
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(LAUNCHER)], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 90
        while f"haul is running: {self.base_url}" not in self.output(since):
            assert self.proc.poll() is None, self.output(since)[-3000:]
            assert time.monotonic() < deadline, self.output(since)[-3000:]
            time.sleep(0.2)
        # The URL is printed only once ready: a worker is connected, so a job can start now.
        health = requests.get(f"{self.base_url}/health")
        assert health.status_code == 200, health.text
        assert health.json()["checks"]["aria2"]["workers"] >= 1, health.text

    def ctrl_c(self) -> int:
        """SIGINT to the whole foreground group, as a terminal sends it; the launcher's exit code."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGINT)
        return self.proc.wait(60)

    def leftovers(self) -> list[str]:
        found = []
        for process in psutil.process_iter(["pid", "name"]):
            with contextlib.suppress(psutil.Error):
                if process.environ().get("HAUL_RUN_MARK") == self.mark and process.status() != "zombie":
                    found.append(f"{process.pid} {process.name()}")
        return found

    def job(self, job_id: str) -> dict[str, Any]:
        """The job as REST shows it; while the services are still starting, the answer instead."""
        response = requests.get(f"{self.base_url}/downloads/{job_id}")
        if response.status_code != 200:
            return {"status": None, "http": response.status_code, "body": response.text[:500]}
        return dict(response.json())


@pytest.mark.slow
def test_ctrl_c_leaves_nothing_and_the_next_start_resumes_the_running_job(
    media: MediaServer, tmp_path: Path
) -> None:
    launcher = Launcher(tmp_path)
    try:
        launcher.start()
        media.slow_rate = 1024 * 1024
        response = requests.post(
            f"{launcher.base_url}/downloads", json={"url": media.url("/slow/medium.bin"), "type": "video"}
        )
        job_id = response.json()["jobId"]
        deadline = time.monotonic() + 30
        while launcher.job(job_id)["downloadedBytes"] < 2 * 1024 * 1024:
            assert time.monotonic() < deadline, launcher.job(job_id)
            time.sleep(0.2)

        stopped_at = time.monotonic()
        assert launcher.ctrl_c() == 0
        assert time.monotonic() - stopped_at < 20
        assert launcher.leftovers() == [], "no process of haul outlives Ctrl-C"
        saved = sum(f.stat().st_size for f in (tmp_path / "tmp" / job_id).iterdir())
        assert saved > 1024 * 1024, "the partial download is kept"

        media.slow_rate = 200 * 1024 * 1024
        since = media.mark()
        launcher.start()
        deadline = time.monotonic() + 60
        while (job := launcher.job(job_id))["status"] != "completed":
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job["sha256"] == media.media.sha256["medium.bin"]
        assert ("queued", "startup") in [(h["to"], h["actor"]) for h in job["history"]]
        ranges = [r.range for r in media.requests_for("/slow/medium.bin", since)]
        assert any(r and not r.startswith("bytes=0-") for r in ranges), ranges
        assert launcher.ctrl_c() == 0
        assert launcher.leftovers() == []
    finally:
        if launcher.proc is not None and launcher.proc.poll() is None:
            os.killpg(launcher.proc.pid, signal.SIGKILL)
        for leftover in launcher.leftovers():
            with contextlib.suppress(psutil.Error):
                psutil.Process(int(leftover.split()[0])).kill()


def jobstore_process(launcher: Launcher) -> psutil.Process:
    for process in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            cmdline = process.info["cmdline"] or []
            if process.environ().get("HAUL_RUN_MARK") == launcher.mark and cmdline[-2:] == ["-m", "jobstore"]:
                return process
    raise AssertionError("jobstore is not running")


@pytest.mark.slow
def test_make_run_leaves_jobstore_closed_to_other_local_users(tmp_path: Path) -> None:
    """A local user holding the valid API token still cannot call jobstore's gRPC with it, nor
    read its metrics: the launcher gives jobstore a random service token and no metrics port."""
    launcher = Launcher(tmp_path)
    api_token = "an-api-token-for-make-run"
    launcher.env["HAUL_API_TOKEN"] = api_token
    jobstore_address = launcher.env["HAUL_JOBSTORE_LISTEN"]
    try:
        launcher.start()  # returns once the workers, given the run's own token, said hello
        headers = {"Authorization": f"Bearer {api_token}"}
        assert requests.get(f"{launcher.base_url}/downloads", headers=headers).status_code == 200

        channel = grpc.insecure_channel(jobstore_address)
        stub = pb_grpc.JobStoreServiceStub(channel)
        for metadata in [
            (),
            (("authorization", f"Bearer {api_token}"),),
            (("authorization", "Bearer dev-worker-token"),),
        ]:
            with pytest.raises(grpc.RpcError) as refused:
                stub.ListJobs(pb.ListJobsRequest(page_size=1), metadata=metadata, timeout=5)
            assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
        channel.close()

        jobstore = jobstore_process(launcher)
        listening = {c.laddr.port for c in jobstore.net_connections("inet") if c.status == psutil.CONN_LISTEN}
        assert listening == {int(jobstore_address.rpartition(":")[2])}, "only gRPC listens: no metrics port"
        assert launcher.ctrl_c() == 0
    finally:
        if launcher.proc is not None and launcher.proc.poll() is None:
            os.killpg(launcher.proc.pid, signal.SIGKILL)
        for leftover in launcher.leftovers():
            with contextlib.suppress(psutil.Error):
                psutil.Process(int(leftover.split()[0])).kill()


def run_tree(launcher: Launcher) -> list[psutil.Process]:
    """The launcher and everything under it, work horses and aria2c included: they lead process
    groups or sessions of their own, but are still its descendants."""
    assert launcher.proc is not None
    top = psutil.Process(launcher.proc.pid)
    return [top, *top.children(recursive=True)]


def download_in_flight(launcher: Launcher, media: MediaServer, at_least: int) -> str:
    """An aria2 download of /slow/medium.bin, `at_least` bytes in, with its control file saved."""
    media.slow_rate = 256 * 1024  # per connection; aria2 opens 4
    response = requests.post(
        f"{launcher.base_url}/downloads", json={"url": media.url("/slow/medium.bin"), "type": "file"}
    )
    assert response.status_code == 202, response.text
    job_id = str(response.json()["jobId"])
    control = launcher.tmp_dir / job_id / "download.part.aria2"
    deadline = time.monotonic() + 30
    while launcher.job(job_id)["downloadedBytes"] < at_least or not control.is_file():
        assert time.monotonic() < deadline, launcher.job(job_id)
        time.sleep(0.2)
    return job_id


def signal_group_and_wait(launcher: Launcher, signum: signal.Signals, seconds: float) -> float:
    """Send `signum` to the launcher's process group, as a terminal (or `kill -KILL -PGID`)
    would; return how long it took until no process of the run was left. Everything of the
    run is listed first, and must hold a work horse outside that group and aria2c."""
    assert launcher.proc is not None
    tree = launcher.listed = run_tree(launcher)
    names = [process.name() for process in tree]
    assert "aria2c" in names, names
    assert any(
        os.getpgid(process.pid) != launcher.proc.pid for process in tree if process.name() != "aria2c"
    ), "a work horse leads a group of its own"
    sent_at = time.monotonic()
    os.killpg(launcher.proc.pid, signum)
    return wait_gone(tree, seconds, since=sent_at)


def kill_what_is_left(launcher: Launcher) -> None:
    if launcher.proc is not None and launcher.proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            launcher.listed += run_tree(launcher)
        os.killpg(launcher.proc.pid, signal.SIGKILL)
    for leftover in launcher.leftovers():
        with contextlib.suppress(psutil.Error):
            psutil.Process(int(leftover.split()[0])).kill()
    for process in launcher.listed:  # redis-server overwrites its environment: no run mark to find
        with contextlib.suppress(psutil.Error):
            if process.is_running():
                process.kill()


@pytest.mark.slow
def test_a_hang_up_stops_every_process_of_the_run(media: MediaServer, tmp_path: Path) -> None:
    """Closing the terminal: SIGHUP to the launcher's group stops redis-server, the work horse,
    its isolated child and aria2c too, not only the processes in that group."""
    launcher = Launcher(tmp_path)
    try:
        launcher.start()
        job_id = download_in_flight(launcher, media, 1024 * 1024)
        took = signal_group_and_wait(launcher, signal.SIGHUP, 15)
        assert launcher.proc is not None and launcher.proc.wait(5) == 0, "a hang-up is a requested stop"
        assert "stopping haul" in launcher.output()
        assert launcher.leftovers() == []
        assert (launcher.tmp_dir / job_id / "download.part").is_file(), "the partial download is kept"
        print(f"everything stopped {took:.1f} s after SIGHUP")
    finally:
        kill_what_is_left(launcher)


@pytest.mark.slow
def test_a_killed_process_group_leaves_nothing_and_the_next_start_resumes(
    media: MediaServer, tmp_path: Path
) -> None:
    """SIGKILL to the launcher's group: nobody can clean up, yet the horse, its isolated child
    and aria2c die with their parents; the next start resumes from the bytes on disk."""
    launcher = Launcher(tmp_path)
    path = "/slow/medium.bin"
    try:
        launcher.start()
        job_id = download_in_flight(launcher, media, 4 * 1024 * 1024)
        took = signal_group_and_wait(launcher, signal.SIGKILL, 5)
        assert launcher.leftovers() == []
        print(f"everything gone {took:.1f} s after SIGKILL")

        # Slow enough that aria2's first request, with no Range, is dropped before it sends much.
        media.slow_rate = 1024 * 1024
        served_before, since = media.served[path], media.mark()
        launcher.start()
        deadline = time.monotonic() + 60
        while (job := launcher.job(job_id))["status"] != "completed":
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job["sha256"] == media.media.sha256["medium.bin"]
        fetched = media.served[path] - served_before
        ranges = [r.range for r in media.requests_for(path, since)]
        print(f"fetched again: {fetched}, ranges: {ranges}")
        assert fetched < MEDIUM_SIZE - 2 * 1024 * 1024, f"fetched {fetched} of {MEDIUM_SIZE} bytes again"
        assert any(r and not r.startswith("bytes=0-") for r in ranges), ranges
        assert launcher.ctrl_c() == 0
        assert launcher.leftovers() == []
    finally:
        kill_what_is_left(launcher)
