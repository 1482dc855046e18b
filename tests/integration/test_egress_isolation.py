"""Defence in depth: the job's tools run in a network namespace whose only way out is the guard."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.support.egress_targets import Canary
from tests.support.isolation_probe import connects, exit_code, forked_isolated, reachable, run_isolated
from tests.support.media_server import MediaServer
from tests.support.ordinary_user import OrdinaryUser, overflow_id
from worker.egress.netns import isolation_available

pytestmark = pytest.mark.skipif(isolation_available() is not None, reason=f"{isolation_available()}")
ARIA2C = shutil.which("aria2c") or "/usr/bin/aria2c"
FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"


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


def in_isolated_child(function: Callable[..., Any], *args: Any) -> Any:
    return in_fresh_process(forked_isolated, function, *args)


def host_addresses() -> list[str]:
    return [
        a.address for addrs in psutil.net_if_addrs().values() for a in addrs if a.family == socket.AF_INET
    ]


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


# As an ordinary user: the path a person's `make run` and the image's uid 10001 take (a user
# namespace first, then the network namespace), which a suite run as root never takes.
FORBIDDING_SETTINGS = {
    "kernel/unprivileged_userns_clone": "0",
    "user/max_user_namespaces": "0",
    "kernel/apparmor_restrict_unprivileged_userns": "1",
}


def kernel_forbids_user_namespaces() -> str | None:
    for setting, forbidding in FORBIDDING_SETTINGS.items():
        path = Path("/proc/sys") / setting
        if path.exists() and path.read_text().strip() == forbidding:
            return f"{setting.replace('/', '.')}={forbidding}"
    return None


@pytest.fixture(scope="module")
def ordinary_user() -> Iterator[OrdinaryUser]:
    forbidden = kernel_forbids_user_namespaces()
    if forbidden:
        pytest.skip(f"this kernel forbids user namespaces to unprivileged users ({forbidden})")
    try:
        user = OrdinaryUser()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield user
    user.close()


def test_an_ordinary_user_gets_the_namespace_and_its_tools_leave_only_through_the_guard(
    ordinary_user: OrdinaryUser, media: MediaServer, canary: Canary
) -> None:
    wildcard = socket.create_server(("0.0.0.0", 0))
    port = wildcard.getsockname()[1]
    targets = [("127.0.0.1", canary.port), ("::1", canary.port)] + [(a, port) for a in host_addresses()]
    folder = ordinary_user.folder
    request = {
        "targets": targets,
        "folder": str(folder),
        "direct_url": media.url("/large.bin"),  # asked for by nothing else here
        "downloads": [(media.url("/medium.bin"), "file"), (media.url("/video.mp4"), "video")],
    }
    (folder / "request.json").write_text(json.dumps(request))
    direct_before = len(media.requests_for("/large.bin"))
    try:
        done = ordinary_user.run_python(
            ["-m", "tests.support.isolation_probe", str(folder / "request.json"), str(folder / "report.json")]
        )
    finally:
        wildcard.close()
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads((folder / "report.json").read_text())

    assert report["uid"] == ordinary_user.uid and report["uid"] not in (0, overflow_id())
    assert report["gid"] == ordinary_user.gid
    assert report["available"] is None
    assert report["layers"] == "proxy + network namespace"
    # Control: outside the namespace this user reaches every target; inside, none.
    assert sorted(map(tuple, report["outside"])) == sorted(targets)
    assert report["inside"] == [], report["inside"]
    assert canary.wait_for_any(1) == 2  # the control's two connections, nothing from inside
    assert report["direct_aria2c_inside"] not in (0, None) and isinstance(report["direct_aria2c_inside"], int)
    assert len(media.requests_for("/large.bin")) == direct_before
    # The guarded way works: the bytes arrive whole, through the guard's Unix socket.
    for outcome, name in zip(report["downloads"], ["medium.bin", "video.mp4"], strict=True):
        assert outcome.get("sha256") == media.media.sha256[name], outcome
        assert outcome["threads"] == 1 and outcome["samples"] and outcome["allowed"] > 0, outcome


def test_where_user_namespaces_are_forbidden_an_ordinary_user_is_told_which_setting(
    ordinary_user: OrdinaryUser,
) -> None:
    if not ordinary_user.as_root:
        pytest.skip("needs root: the setting is changed in a user namespace mapping another account")
    layers = "from worker.isolation import describe_layers; print(describe_layers(True, 'auto'))"
    done = ordinary_user.run_python_without_user_namespaces(["-c", layers])
    assert done.returncode == 0, done.stderr[-4000:]
    said = done.stdout.strip()
    assert said.startswith("proxy only (no network namespace: no user namespace for uid "), said
    assert "the sysctl user.max_user_namespaces=0 forbids them" in said, said
    # Control: the same command, with the setting untouched, gets the namespace.
    assert ordinary_user.run_python(["-c", layers]).stdout.strip() == "proxy + network namespace"


def test_a_root_without_cap_sys_admin_isolates_through_a_user_namespace(ordinary_user: OrdinaryUser) -> None:
    """A container's root has no CAP_SYS_ADMIN, so no bare network namespace: the user namespace
    path serves it too."""
    if not ordinary_user.as_root:
        pytest.skip("needs root")
    drop = ["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin"]
    check = (
        "import os, sys; from worker.egress.netns import CLONE_NEWNET, _unshare, isolation_available\n"
        "said = isolation_available()\n"
        "try:\n    _unshare(CLONE_NEWNET)\nexcept PermissionError:\n    print(os.geteuid(), said)\n"
    )
    done = subprocess.run(
        [*ordinary_user.mounts(), *drop, sys.executable, "-S", "-c", check],
        cwd=ordinary_user.folder, env=ordinary_user.env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.strip() == "0 None", "a bare CLONE_NEWNET must be refused there, the namespace given"
