"""The worker's start-up sweep of aria2 folders: what a dead process held goes, a live one's stays.

Real processes hold the leases: one is SIGKILLed and reaped (as a killed work horse is), one
stays alive. Pids decide nothing: a folder named for a live pid that nobody leases is a
leftover, which is what a reused pid looks like.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from worker.aria2_roots import (
    ARIA2_DIR,
    OWNER_LOCK,
    UNMARKED_GRACE,
    RootInUse,
    leased_root,
    sweep_aria2_roots,
)

HOLDER = """
import sys, time
from pathlib import Path
from worker.aria2_roots import leased_root
with leased_root(Path(sys.argv[1])) as root:
    (root / "aria2.conf").write_text("rpc-secret=not-a-real-one\\n")
    print("held", flush=True)
    time.sleep(60)
"""


def hold(root: Path) -> subprocess.Popen[str]:
    """A process leasing `root`, as a work horse running aria2 does; returns once it holds it."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(root)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


@pytest.fixture
def holders() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait(10)


def test_a_killed_holders_folder_goes_and_a_live_holders_stays(
    tmp_path: Path, holders: list[subprocess.Popen[str]]
) -> None:
    dead, live = tmp_path / ARIA2_DIR / "dead", tmp_path / ARIA2_DIR / "live"
    killed = hold(dead)
    killed.send_signal(signal.SIGKILL)
    killed.wait(10)  # reaped: its pid is free, its lock dropped by the kernel
    holders.append(hold(live))
    assert (dead / "aria2.conf").exists(), "a SIGKILLed holder cannot clean up"
    assert sweep_aria2_roots(tmp_path) == ["dead"]
    assert not dead.exists()
    assert (live / "aria2.conf").read_text() == "rpc-secret=not-a-real-one\n"


def test_a_live_pid_that_holds_no_lease_does_not_keep_a_folder(tmp_path: Path) -> None:
    # This test's own pid is alive, but not leasing: as after a pid was reused.
    reused = tmp_path / ARIA2_DIR / f"{os.getpid()}-0000"
    with leased_root(reused):
        pass
    assert (reused / OWNER_LOCK).exists()
    assert sweep_aria2_roots(tmp_path) == [reused.name]


def test_a_folder_without_a_lock_file_is_kept_until_it_is_old(tmp_path: Path) -> None:
    fresh, old = tmp_path / ARIA2_DIR / "fresh", tmp_path / ARIA2_DIR / "old"
    fresh.mkdir(parents=True)
    old.mkdir()
    long_ago = time.time() - UNMARKED_GRACE - 60
    os.utime(old, (long_ago, long_ago))
    assert sweep_aria2_roots(tmp_path) == ["old"]
    assert fresh.is_dir()


def test_links_and_files_are_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    with leased_root(target):
        pass
    (tmp_path / ARIA2_DIR).mkdir()
    (tmp_path / ARIA2_DIR / "link").symlink_to(target)
    (tmp_path / ARIA2_DIR / "note").write_text("x")
    assert sweep_aria2_roots(tmp_path) == []
    assert target.is_dir() and (tmp_path / ARIA2_DIR / "note").exists()


def test_a_folder_a_live_process_holds_cannot_be_leased_twice(
    tmp_path: Path, holders: list[subprocess.Popen[str]]
) -> None:
    root = tmp_path / ARIA2_DIR / "taken"
    holders.append(hold(root))
    with pytest.raises(RootInUse), leased_root(root):
        pass


def test_no_aria2_folder_at_all_is_fine(tmp_path: Path) -> None:
    assert sweep_aria2_roots(tmp_path) == []


def test_the_lease_is_private_to_its_user(tmp_path: Path) -> None:
    with leased_root(tmp_path / ARIA2_DIR / "mine") as root:
        assert (root.stat().st_mode & 0o777, (root / OWNER_LOCK).stat().st_mode & 0o777) == (0o700, 0o600)
