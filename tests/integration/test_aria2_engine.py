"""The aria2 engine against a real aria2c and a real (loopback) media origin."""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import signal
import stat
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

from haul.contract.events import JobSpec
from tests.support.media_server import LoggedRequest, MediaServer
from worker.aria2d import Aria2Daemon, Aria2Rpc, Aria2RpcError
from worker.egress.tools import ToolEgress
from worker.engines.aria2 import CONTROL_SUFFIX, OUT_NAME, Aria2Engine
from worker.engines.base import DownloadFailed, StopRequested
from worker.naming import final_path, safe_filename
from worker.samples import Sample

ARIA2C = shutil.which("aria2c") or "/usr/bin/aria2c"
JOB = "8f9a3c52-5b1e-4f7a-9a0e-1c2d3e4f5a6b"
SLOW_RATE = 256 * 1024  # bytes/s per connection: 24 MB takes far longer than any test waits
FAST_RATE = 512 * 1024 * 1024


def never() -> str | None:
    return None


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def range_starts(requests: list[LoggedRequest]) -> list[int]:
    return [int(r.range[6:].split("-")[0]) for r in requests if r.range and r.range.startswith("bytes=")]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Aria2Daemon]:
    # One daemon for the module, as a worker has; tests that kill it leave a restarted one.
    with Aria2Daemon(ARIA2C, tmp_path_factory.mktemp("aria2")) as started:
        yield started


@pytest.fixture
def engine(daemon: Aria2Daemon) -> Aria2Engine:
    return Aria2Engine(daemon, poll_interval=0.05)


@pytest.fixture
def slow(media: MediaServer) -> Iterator[MediaServer]:
    media.slow_rate = SLOW_RATE
    yield media
    media.slow_rate = FAST_RATE


def test_a_large_file_arrives_intact_with_rising_progress(
    engine: Aria2Engine, media: MediaServer, tmp_path: Path
) -> None:
    samples: list[Sample] = []
    started = time.monotonic()
    done = engine.run(
        JobSpec(url=media.url("/large.bin"), type="file"), tmp_path / JOB, samples.append, never
    )
    elapsed = time.monotonic() - started
    assert sha256_of(done.path) == media.media.sha256["large.bin"]
    assert (done.suggested_name, done.extension) == ("large.bin", "bin")
    received = [s.downloaded_bytes for s in samples]
    assert received == sorted(received), "progress never goes back"
    assert any(0 < s.progress < 100 for s in samples), "progress was reported during the transfer"
    assert samples[-1].progress == 100.0 and samples[-1].downloaded_bytes == done.path.stat().st_size
    assert elapsed < 15, f"200 MB over loopback took {elapsed:.1f}s"


@pytest.mark.parametrize(
    ("path", "code", "retryable"),
    [
        ("/status/404", "HTTP_404", False),
        ("/status/403", "HTTP_403", False),
        ("/status/503", "HTTP_503", True),
    ],
)
def test_http_errors_become_stable_codes(
    engine: Aria2Engine, media: MediaServer, tmp_path: Path, path: str, code: str, retryable: bool
) -> None:
    with pytest.raises(DownloadFailed) as failed:
        engine.run(JobSpec(url=media.url(path), type="file"), tmp_path / JOB, lambda _: None, never)
    assert (failed.value.code, failed.value.retryable) == (code, retryable)


def test_a_hostile_content_disposition_gives_a_name_that_stays_in_the_job_folder(
    engine: Aria2Engine, media: MediaServer, tmp_path: Path
) -> None:
    done = engine.run(
        JobSpec(url=media.url("/hostile-name"), type="file"), tmp_path / JOB, lambda _: None, never
    )
    assert done.path.read_bytes() == b"hostile"
    assert "evil" in done.suggested_name, "the name comes from the server's filename*"
    name = safe_filename(done.suggested_name, done.extension)
    assert name.endswith(".mp4") and "/" not in name and "\x00" not in name and "\u202e" not in name
    data_dir = tmp_path / "data"
    assert final_path(data_dir, JOB, name).parent == (data_dir / JOB).resolve()


def test_pause_keeps_the_partial_file_and_a_later_run_resumes_from_it(
    engine: Aria2Engine, slow: MediaServer, tmp_path: Path
) -> None:
    spec = JobSpec(url=slow.url("/slow/medium.bin"), type="file")
    work_dir = tmp_path / JOB
    asked: list[float] = []

    def pause_after_a_megabyte(sample: Sample) -> None:
        if sample.downloaded_bytes > 1024 * 1024 and not asked:
            asked.append(time.monotonic())

    with pytest.raises(StopRequested) as stopped:
        engine.run(spec, work_dir, pause_after_a_megabyte, lambda: "pause" if asked else None)
    assert stopped.value.action == "pause"
    assert time.monotonic() - asked[0] < 2.0, "the download stops within 2 s"
    part, control = work_dir / OUT_NAME, work_dir / (OUT_NAME + CONTROL_SUFFIX)
    assert part.is_file() and control.is_file(), "pause keeps the partial file and its control file"
    size_when_paused = part.stat().st_size
    time.sleep(0.3)
    assert part.stat().st_size == size_when_paused, "nothing is written after the pause"

    slow.slow_rate = FAST_RATE
    before = len(slow.requests)
    done = engine.run(spec, work_dir, lambda _: None, never)
    assert sha256_of(done.path) == slow.media.sha256["medium.bin"]
    resumed = [r for r in slow.requests[before:] if r.path == "/slow/medium.bin"]
    starts = range_starts(resumed)
    assert starts and min(starts) > 0, f"the second run asked only for missing ranges: {resumed}"
    assert range_starts(slow.requests_for("/slow/medium.bin"))[-1] > 0
    assert not control.exists(), "aria2 removes its control file when the download is complete"


def kill_when_saved(daemon: Aria2Daemon, work_dir: Path, killed: list[int]) -> Callable[[Sample], None]:
    """An on_sample hook that SIGKILLs aria2c once it has saved its control file with progress."""
    first_bytes: list[float] = []

    def hook(sample: Sample) -> None:
        if killed or sample.downloaded_bytes == 0:
            return
        if not first_bytes:
            first_bytes.append(time.monotonic())
        # Only once a control file was saved after some bytes arrived does it record progress.
        control = work_dir / (OUT_NAME + CONTROL_SUFFIX)
        if control.exists() and time.monotonic() - first_bytes[0] > 1.5 and daemon.pid is not None:
            killed.append(daemon.pid)
            os.kill(daemon.pid, signal.SIGKILL)
            psutil.Process(daemon.pid).wait(timeout=5)

    return hook


def test_a_killed_daemon_is_restarted_and_the_next_run_fetches_only_missing_ranges(
    engine: Aria2Engine, daemon: Aria2Daemon, slow: MediaServer, tmp_path: Path
) -> None:
    spec = JobSpec(url=slow.url("/slow/medium.bin"), type="file")
    work_dir = tmp_path / JOB
    killed: list[int] = []
    hook = kill_when_saved(daemon, work_dir, killed)
    with pytest.raises(StopRequested):
        engine.run(spec, work_dir, hook, lambda: "abort" if killed else None)
    assert not daemon.ping()
    assert daemon.ensure_running() is True
    assert daemon.ping() and daemon.pid not in (None, killed[0])
    assert daemon.ensure_running() is False, "a healthy daemon is left alone"

    slow.slow_rate = FAST_RATE
    before = len(slow.requests)
    done = engine.run(spec, work_dir, lambda _: None, never)
    assert sha256_of(done.path) == slow.media.sha256["medium.bin"]
    starts = range_starts([r for r in slow.requests[before:] if r.path == "/slow/medium.bin"])
    assert starts and min(starts) > 0, "the control file saved before the kill was used"


def test_a_run_survives_the_daemon_being_killed_under_it(
    engine: Aria2Engine, daemon: Aria2Daemon, slow: MediaServer, tmp_path: Path
) -> None:
    work_dir = tmp_path / JOB
    killed: list[int] = []
    kill = kill_when_saved(daemon, work_dir, killed)
    marks: list[int] = []

    def on_sample(sample: Sample) -> None:
        kill(sample)
        if killed and not marks:
            marks.append(len(slow.requests))
            slow.slow_rate = FAST_RATE

    done = engine.run(JobSpec(url=slow.url("/slow/medium.bin"), type="file"), work_dir, on_sample, never)
    assert killed and daemon.pid != killed[0], "the engine restarted aria2c itself"
    assert sha256_of(done.path) == slow.media.sha256["medium.bin"]
    starts = range_starts([r for r in slow.requests[marks[0] :] if r.path == "/slow/medium.bin"])
    assert starts and min(starts) > 0


def test_the_rpc_secret_is_in_no_command_line_and_is_required(daemon: Aria2Daemon) -> None:
    assert stat.S_IMODE(daemon.conf_path.stat().st_mode) == 0o600
    conf = dict(line.split("=", 1) for line in daemon.conf_path.read_text().splitlines())
    secret = conf["rpc-secret"]
    assert len(secret) == 64
    assert daemon.pid is not None
    cmdline = Path(f"/proc/{daemon.pid}/cmdline").read_bytes()
    assert secret.encode() not in cmdline and b"rpc-secret" not in cmdline
    assert secret.encode() not in Path(f"/proc/{daemon.pid}/environ").read_bytes()
    assert secret not in repr(daemon) and secret not in repr(daemon.client())
    with pytest.raises(Aria2RpcError, match="Unauthorized"):
        Aria2Rpc(daemon.port, "0" * 64).get_version()
    assert daemon.version().startswith("1.")


def test_aria2c_listens_on_loopback_only_and_only_for_rpc(daemon: Aria2Daemon) -> None:
    assert daemon.pid is not None
    sockets = psutil.Process(daemon.pid).net_connections(kind="inet")
    listening = [s for s in sockets if s.status == psutil.CONN_LISTEN]
    assert {s.laddr.ip for s in listening} <= {"127.0.0.1", "::1"} and listening
    assert {s.laddr.port for s in listening} == {daemon.port}, "no BitTorrent or DHT ports"
    assert not [s for s in sockets if s.type == 2], "no UDP sockets (DHT is off)"  # SOCK_DGRAM


class RecordingProxy(ThreadingHTTPServer):
    """A forward HTTP proxy for plain http that logs each request's target and Proxy-Authorization."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.seen: list[tuple[str, str, str | None]] = []


class ProxyHandler(BaseHTTPRequestHandler):
    server: RecordingProxy

    def log_message(self, format: str, *args: object) -> None:
        pass

    def forward(self) -> None:
        self.server.seen.append((self.command, self.path, self.headers.get("Proxy-Authorization")))
        target = urlsplit(self.path)
        upstream = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=10)
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in ("proxy-authorization", "connection")
        }
        upstream.request(
            self.command, target.path + (f"?{target.query}" if target.query else ""), headers=headers
        )
        reply = upstream.getresponse()
        self.send_response(reply.status)
        for key, value in reply.getheaders():
            if key.lower() not in ("connection", "transfer-encoding"):
                self.send_header(key, value)
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            shutil.copyfileobj(reply, self.wfile)
        upstream.close()

    do_GET = forward
    do_HEAD = forward


def test_downloads_and_the_name_probe_go_through_the_configured_proxy(
    media: MediaServer, tmp_path: Path
) -> None:
    proxy = RecordingProxy()
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    proxy_url = f"http://haul:pr0xy-pass@127.0.0.1:{proxy.server_address[1]}"
    try:
        with Aria2Daemon(ARIA2C, tmp_path / "aria2", ToolEgress(proxy_url)) as daemon:
            assert daemon.pid is not None
            assert b"pr0xy-pass" not in Path(f"/proc/{daemon.pid}/cmdline").read_bytes()
            url = media.url("/video.mp4")
            done = Aria2Engine(daemon, 0.05).run(
                JobSpec(url=url, type="file"), tmp_path / JOB, lambda _: None, never
            )
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert sha256_of(done.path) == media.media.sha256["video.mp4"]
    assert (done.suggested_name, done.extension) == ("video.mp4", "mp4")
    assert {method for method, target, _ in proxy.seen if target == url} == {"HEAD", "GET"}
    assert {auth for *_, auth in proxy.seen} == {"Basic aGF1bDpwcjB4eS1wYXNz"}  # haul:pr0xy-pass


def test_a_stop_that_need_not_save_anything_is_immediate(tmp_path: Path) -> None:
    daemon = Aria2Daemon(ARIA2C, tmp_path / "aria2")
    daemon.start()
    daemon.start()  # a no-op while it runs
    pid = daemon.pid
    assert pid is not None
    started = time.monotonic()
    daemon.stop(graceful=False)
    assert time.monotonic() - started < 0.5
    assert not psutil.pid_exists(pid) and daemon.pid is None and not daemon.ping()
