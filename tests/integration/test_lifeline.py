"""haul.runtime.lifeline with real processes: a process leading its own group (as RQ's work horse
does) takes the tools it started along when its parent is killed outright, and a child whose
parent was gone before it asked exits at once."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

from tests.support.process_trees import wait_gone

ROOT = Path(__file__).resolve().parents[2]

# The parent forks a child that leads a group of its own, as RQ's horse does; the child starts
# ffmpeg there (as yt-dlp would) and waits. The parent then waits to be killed.
HORSE = textwrap.dedent(
    """
    import os, subprocess, sys, time
    from haul.runtime.lifeline import group_dies_with_parent

    parent = os.getpid()
    if os.fork() == 0:
        os.setpgrp()
        group_dies_with_parent(parent)
        subprocess.Popen([sys.argv[1], "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
                          "-f", "lavfi", "-i", "testsrc=size=64x64:rate=5", "-f", "null", "-"])
        while True:
            time.sleep(1)
    while True:
        time.sleep(1)
    """
)

# The child asks only once its parent has already exited: the kernel would never signal it.
LATE = textwrap.dedent(
    """
    import os, sys, time
    from haul.runtime.lifeline import die_with_parent

    parent = os.getpid()
    if os.fork() == 0:
        print(os.getpid(), flush=True)
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)  # the caller reads until the pipes close
        os.dup2(quiet, 2)
        time.sleep(1)
        die_with_parent(9, parent)
        time.sleep(60)
        os._exit(0)
    """
)


def test_a_group_leader_takes_its_tools_along_when_its_parent_is_killed() -> None:
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg is not None, "ffmpeg is missing: run `make setup` as root"
    parent = subprocess.Popen([sys.executable, "-c", HORSE, ffmpeg], cwd=ROOT, start_new_session=True)
    tree: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 20
        while not any(p.name() == "ffmpeg" for p in tree):
            assert time.monotonic() < deadline, "ffmpeg did not start"
            time.sleep(0.1)
            tree = psutil.Process(parent.pid).children(recursive=True)
        child = next(p for p in tree if p.name() != "ffmpeg")
        assert os.getpgid(child.pid) == child.pid != os.getpgid(parent.pid), "the child leads its own group"

        parent.kill()  # SIGKILL: the parent cannot pass anything on
        parent.wait(5)
        took = wait_gone(tree, 5)
        print(f"the child and ffmpeg were gone {took:.2f} s after their parent")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(5)
        for process in tree:
            with contextlib.suppress(psutil.Error):
                process.kill()


def test_a_child_whose_parent_is_already_gone_exits_at_once() -> None:
    parent = subprocess.run(
        [sys.executable, "-c", LATE], cwd=ROOT, capture_output=True, text=True, timeout=20, check=True
    )
    child = psutil.Process(int(parent.stdout.split()[0]))
    try:
        # It asks a second after its parent left, then would sleep for a minute.
        took = wait_gone([child], 5)
        assert took < 5
    finally:
        with contextlib.suppress(psutil.Error):
            child.kill()


def test_the_launchers_children_stop_when_it_alone_is_killed(tmp_path: Path) -> None:
    """`make run`'s children get SIGTERM when the launcher dies; redis-server stops on it."""
    redis = shutil.which("redis-server")
    assert redis is not None, "redis-server is missing: run `make setup` as root"
    script = textwrap.dedent(
        f"""
        import subprocess, signal, time
        from haul.runtime.lifeline import child_setup
        subprocess.Popen([{redis!r}, "--port", "0", "--save", "", "--appendonly", "no", "--dir", {str(tmp_path)!r}],
                         stdout=subprocess.DEVNULL, preexec_fn=child_setup(signal.SIGTERM, ignore_hangup=True))
        while True:
            time.sleep(1)
        """
    )
    launcher = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, start_new_session=True)
    tree: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 20
        while not tree:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)
            tree = psutil.Process(launcher.pid).children()
        launcher.kill()  # the launcher only, not its group
        launcher.wait(5)
        took = wait_gone(tree, 5)
        print(f"redis-server stopped {took:.2f} s after the launcher died")
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait(5)
        for process in tree:
            with contextlib.suppress(psutil.Error):
                process.kill()
