"""One attempt of a job at a time in its TMP_DIR/{jobId}, even when an old work horse lives on.

A horse can outlive the restart that began its job's next attempt (an orphan finishes its job,
see FIELD-NOTES). Both would then download into the same partial file and race to move it into
DATA_DIR (issue 11). Each attempt holds an exclusive `flock` on its job's folder while it works;
the kernel drops it when the horse dies, even by SIGKILL. A later attempt waits for the lock, then
finishes from what the earlier one left (worker.finish), or fails retryably if it is still held.

The lock is on the folder itself, so no lock file is left behind. A folder removed while we
waited is a different inode from the one we locked: we lock the new one instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

WAIT_SECONDS = 30.0
POLL_SECONDS = 0.2


class JobBusy(Exception):
    """Another attempt of this job still works in its folder."""


@contextlib.contextmanager
def job_folder_lock(folder: Path, wait: float | None = None) -> Iterator[None]:
    """Create `folder` if needed and hold an exclusive lock on it; JobBusy after `wait` seconds."""
    deadline = time.monotonic() + (WAIT_SECONDS if wait is None else wait)
    while True:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            if _lock(fd, deadline) and _still_there(folder, fd):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the folder we locked was removed meanwhile: lock its successor
    try:
        yield
    finally:
        os.close(fd)


def _lock(fd: int, deadline: float) -> bool:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise JobBusy("another attempt of this job is still running on this machine") from None
            time.sleep(POLL_SECONDS)


def _still_there(folder: Path, fd: int) -> bool:
    try:
        return os.stat(folder).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False
