"""A job's aria2 daemon started while its claim is in flight (worker.download.WarmAria2, started
by the isolated child from worker.isolation.EarlyStart): a download takes it only with the same
folder and the same way out, and a refused claim leaves no daemon and no folder behind.

Real aria2c processes; skipped where aria2c (or, for the child, a network namespace) is missing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from worker.aria2d import CONF_NAME
from worker.download import WarmAria2
from worker.egress.netns import isolation_available
from worker.egress.policy import EgressPolicy
from worker.egress.proxy import EgressProxy
from worker.egress.tools import ToolEgress
from worker.isolation import EarlyStart, IsolatedDownload
from worker.tools import find_tools

ARIA2C = find_tools().aria2c
pytestmark = pytest.mark.skipif(ARIA2C is None, reason="aria2c not installed")
GUARD = ToolEgress("http://job-1:token@127.0.0.1:9")


def aria2c_running_in(root: Path) -> list[int]:
    """The pids of processes whose command line names a config file in `root`."""
    conf = f"--conf-path={root / CONF_NAME}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if conf in cmdline.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return found


def gone(root: Path, seconds: float = 10.0) -> bool:
    """No daemon and no folder left in `root` within `seconds` (a killed aria2c is reaped at once)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not root.exists() and not aria2c_running_in(root):
            return True
        time.sleep(0.02)
    return False


def test_a_download_takes_the_daemon_only_with_its_folder_and_way_out(tmp_path: Path) -> None:
    assert ARIA2C is not None
    root = tmp_path / "aria2" / "job-1"
    with WarmAria2(ARIA2C, root, GUARD).start() as warm:
        assert aria2c_running_in(root)
        assert warm.take(root, ToolEgress("http://job-1:other@127.0.0.1:9")) is None
        # Taken once only, and not by another job's way out: it is stopped with the warm start.
        assert warm.take(root, GUARD) is None
    assert gone(root)

    with WarmAria2(ARIA2C, root, GUARD).start() as warm:
        daemon = warm.take(root, GUARD)
        assert daemon is not None and daemon.ping()
        conf = (root / CONF_NAME).read_text()
        assert "all-proxy=http://job-1:token@127.0.0.1:9\n" in conf
    assert gone(root)


def test_a_refused_claim_stops_the_daemon_the_child_started_and_removes_its_folder(tmp_path: Path) -> None:
    if isolation_available() is not None:
        pytest.skip(f"no network namespace here: {isolation_available()}")
    assert ARIA2C is not None
    root = tmp_path / "aria2" / "job-1"
    socket_dir = tmp_path / "guard"
    socket_dir.mkdir()
    early = EarlyStart("job-1", "token", str(socket_dir / "guard.sock"), root, ARIA2C)
    with IsolatedDownload.start(early) as pending:
        child, reason = pending.ready()
        assert reason is None and child is not None
        with child:
            # Started while the horse would be claiming the job (bounded wait).
            deadline = time.monotonic() + 10
            while not aria2c_running_in(root) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert aria2c_running_in(root)
            assert "all-proxy=http://job-1:token@127.0.0.1:" in (root / CONF_NAME).read_text()
        # Leaving the child unsent is what a refused claim does.
    assert gone(root)


def test_the_early_daemon_gets_the_way_out_the_jobs_guard_gives_it() -> None:
    """Else the download would never take it (and start a second daemon for every job)."""
    early = EarlyStart(
        "0b7c8f0e-5d1a-4a43-9d1e-0a6e0f6f6f6f", "t0k-en_", "/run/x/guard.sock", Path("r"), None
    )
    guard = EgressProxy(EgressPolicy(["127.0.0.2/32"], [80]), token=early.token, unix_path=early.unix_path)
    assert guard.tool_egress(early.job_id).relayed_through(4242) == early.relayed(4242)
