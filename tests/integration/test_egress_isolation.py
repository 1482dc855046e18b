"""Defence in depth: the job's tools run in a network namespace whose only way out is the guard."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import pickle
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from haul.contract.events import JobSpec
from tests.support.egress_targets import Canary
from tests.support.media_server import MediaServer, serve
from worker.download import DownloadJob
from worker.egress.netns import enter_isolated_network, isolation_available
from worker.egress.policy import EgressPolicy
from worker.egress.proxy import EgressProxy, EgressProxyThread
from worker.engines.base import DownloadFailed
from worker.isolation import IsolatedDownload
from worker.samples import Sample
from worker.tools import find_tools

pytestmark = pytest.mark.skipif(isolation_available() is not None, reason=f"{isolation_available()}")
ARIA2C = shutil.which("aria2c") or "/usr/bin/aria2c"
FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaServer]:
    yield from serve(tmp_path_factory.mktemp("media"))


@pytest.fixture
def canary() -> Iterator[Canary]:
    watcher = Canary()
    yield watcher
    watcher.close()


def in_fresh_process(function: Callable[..., Any], *args: Any) -> Any:
    """`function(*args)` in a newly spawned interpreter. The work horse forks its isolated child
    while it has no other thread; a fork of this pytest process (gRPC's threads may hold glibc's
    resolver lock at that moment) would not be the same thing."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def forked_isolated(function: Callable[..., Any], *args: Any) -> Any:
    """`function(*args)` run in a forked child inside an isolated network namespace; its result."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - reports through the pipe
        os.close(read)
        try:
            enter_isolated_network()
            result: Any = function(*args)
        except BaseException as exc:
            result = f"raised {exc!r}"
        with os.fdopen(write, "wb") as out:
            pickle.dump(result, out)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as source:
        data = source.read()
    os.waitpid(pid, 0)
    return pickle.loads(data)


def in_isolated_child(function: Callable[..., Any], *args: Any) -> Any:
    return in_fresh_process(forked_isolated, function, *args)


def host_addresses() -> list[str]:
    return [
        a.address for addrs in psutil.net_if_addrs().values() for a in addrs if a.family == socket.AF_INET
    ]


def reachable(targets: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return [target for target in targets if connects(*target)]


def connects(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return False
    return True


def test_an_isolated_process_reaches_no_address_of_this_machine(canary: Canary) -> None:
    wildcard = socket.create_server(("0.0.0.0", 0))
    port = wildcard.getsockname()[1]
    targets = [("127.0.0.1", canary.port), ("::1", canary.port)] + [(a, port) for a in host_addresses()]
    assert connects("127.0.0.1", canary.port), "control: the canary answers outside the namespace"
    assert canary.wait_for_any(5) == 1
    canary.accepted = 0
    reached = in_isolated_child(reachable, targets)
    wildcard.setblocking(False)
    with pytest.raises(BlockingIOError):
        wildcard.accept()
    wildcard.close()
    assert reached == [] and canary.wait_for_any(0.5) == 0


def exit_code(command: list[str]) -> int:
    return subprocess.run(command, timeout=60).returncode


def test_tools_that_ignore_the_proxy_still_cannot_leave_the_namespace(
    media: MediaServer, tmp_path: Path
) -> None:
    aria2 = [ARIA2C, "--no-conf", "--quiet", "--max-tries=1", "--connect-timeout=2", "-d", str(tmp_path),
             media.url("/medium.bin")]  # fmt: skip
    ffmpeg = [
        FFMPEG,
        "-nostdin",
        "-v",
        "error",
        "-i",
        media.url("/video.mp4"),
        "-c",
        "copy",
        "-f",
        "null",
        "-",
    ]
    before = len(media.requests_for("/medium.bin")) + len(media.requests_for("/video.mp4"))
    assert in_isolated_child(exit_code, aria2) != 0
    assert in_isolated_child(exit_code, ffmpeg) != 0
    assert len(media.requests_for("/medium.bin")) + len(media.requests_for("/video.mp4")) == before
    # Control: the very same commands outside the namespace reach the origin.
    assert exit_code(aria2) == 0 and exit_code(ffmpeg) == 0


def run_isolated(url: str, kind: str, allowed: list[str], folder: Path) -> dict[str, Any]:
    """A real download in the isolated child behind a real guard; what came of it, in plain data."""
    child, reason = IsolatedDownload.fork()
    assert child is not None, reason
    socket_dir = tempfile.mkdtemp(prefix="haul-egress-")
    policy = EgressPolicy(allowed, [80, 443, *range(1024, 65536)])
    proxy = EgressProxy(policy, unix_path=f"{socket_dir}/guard.sock")
    job = DownloadJob(JobSpec(url=url, type=kind), folder / "job", find_tools(), 2, 1 << 30, folder / "aria2")
    samples: list[Sample] = []
    outcome: dict[str, Any] = {}
    try:
        with child, EgressProxyThread(proxy):
            try:
                done = child.run(job, proxy.tool_egress("job-1"), samples.append)
                outcome["sha256"] = hashlib.sha256(done.path.read_bytes()).hexdigest()
            except DownloadFailed as failure:
                outcome["failed"] = failure.code
    finally:
        shutil.rmtree(socket_dir, ignore_errors=True)
    return {
        **outcome,
        "samples": len(samples),
        "allowed": proxy.stats.allowed,
        "refused": proxy.stats.refused,
    }


@pytest.mark.parametrize("kind, path", [("file", "/medium.bin"), ("video", "/video.mp4")])
def test_a_download_in_the_isolated_child_goes_through_the_guard(
    media: MediaServer, tmp_path: Path, kind: str, path: str
) -> None:
    outcome = in_fresh_process(run_isolated, media.url(path), kind, ["127.0.0.0/8"], tmp_path)
    assert outcome.get("sha256") == media.media.sha256[path.lstrip("/")], outcome
    assert outcome["samples"] and outcome["allowed"] > 0


def test_with_nothing_allowed_an_isolated_download_fails_and_reaches_nothing(
    canary: Canary, tmp_path: Path
) -> None:
    outcome = in_fresh_process(run_isolated, f"http://127.0.0.1:{canary.port}/a.bin", "file", [], tmp_path)
    assert "failed" in outcome and outcome["refused"] > 0, outcome
    assert canary.wait_for_any(0.5) == 0
