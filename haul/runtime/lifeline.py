"""Processes that end with their parent: Linux's `PR_SET_PDEATHSIG`, for what haul starts.

A work horse, the aria2c it starts in its own session, or `make run`'s private redis-server
would otherwise run on, orphaned, after the process that started them was killed outright.

The kernel sends the signal when the *thread* that forked the child ends, not its process: call
these from a child forked by a thread that lives as long as its process (the main thread). A
parent that ended before the child asked is gone for good, and the child would never get the
signal: it then exits at once, seeing that its parent is no longer the one that forked it.

The signal reaches this process only: a tool it started (ffmpeg under yt-dlp, say) would be
orphaned. A process leading its own process group (RQ's work horse) can take the group along
instead (`group_dies_with_parent`).

Elsewhere than on Linux nothing is asked, and only the check of the parent remains.
"""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Callable

PR_SET_PDEATHSIG = 1

# Looked up once, here, so a child between fork and exec (`preexec_fn`) only calls it.
try:
    _prctl: Callable[..., int] | None = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def die_with_parent(signum: int, parent: int) -> None:
    """Have this process sent `signum` when its parent ends; `parent` is the pid of the process
    that forked it, taken before the fork. Exit now if that parent has already ended."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, int(signum))
    if os.getppid() != parent:
        os._exit(1)


def group_dies_with_parent(parent: int) -> None:
    """As `die_with_parent`, but when the parent ends, the whole process group goes: this
    process and every tool it or its children started there. Only a group led by this process
    or by the parent is taken along (a work horse, or its child); in any other, as in the group
    of `make run`'s launcher, only this process dies. Call it from the main thread: the kernel's
    SIGTERM is caught here, and the handler SIGKILLs the group (as it does for a SIGTERM from
    anyone else)."""
    group = os.getpgrp()
    if group not in (os.getpid(), parent):
        die_with_parent(signal.SIGKILL, parent)
        return

    def kill_group(_signum: int, _frame: object) -> None:
        os.killpg(group, signal.SIGKILL)

    signal.signal(signal.SIGTERM, kill_group)
    die_with_parent(signal.SIGTERM, parent)


def child_setup(signum: int, ignore_hangup: bool = False) -> Callable[[], None]:
    """A `preexec_fn` for `subprocess.Popen`: the child gets `signum` when the thread that starts
    it ends (so start it from the main thread); `ignore_hangup` leaves a terminal's hang-up to
    the caller, which then stops its children in order."""
    parent = os.getpid()

    def setup() -> None:
        if ignore_hangup:
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
        die_with_parent(signum, parent)

    return setup
