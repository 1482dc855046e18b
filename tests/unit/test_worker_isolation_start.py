"""The isolated child is forked at once and waited for later (worker.isolation.PendingIsolation):
the work horse connects to the gateway and claims the job while the kernel makes the namespace."""

from __future__ import annotations

import os
import threading

import pytest

from worker.egress.netns import isolation_available
from worker.isolation import IsolatedDownload


def reaped(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_a_child_forked_and_left_before_it_was_waited_for_is_reaped() -> None:
    pending = IsolatedDownload.start()
    child = pending._child
    assert child is not None
    with pending:
        pass  # a refused claim: the child was never needed
    assert reaped(child.pid)
    assert pending.ready() == (None, "the isolated child was already taken")


def test_threads_started_after_the_fork_do_not_keep_the_child_from_its_namespace() -> None:
    """What the horse does between the fork and the wait: the link's threads start. The child,
    forked before them, still enters its namespace (which a process with threads may not)."""
    if isolation_available() is not None:
        pytest.skip(f"no network namespace here: {isolation_available()}")
    with IsolatedDownload.start() as pending:
        stop = threading.Event()
        worker = threading.Thread(target=stop.wait, daemon=True)
        worker.start()
        try:
            child, reason = pending.ready()
        finally:
            stop.set()
            worker.join()
        assert reason is None and child is not None
        with child:
            pass
        assert reaped(child.pid)
