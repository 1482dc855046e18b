"""Two attempts of one job never work in its folder at the same time."""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from worker.joblock import JobBusy, job_folder_lock


def test_a_second_attempt_is_refused_while_the_first_holds_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "job"
    with job_folder_lock(folder), pytest.raises(JobBusy), job_folder_lock(folder, wait=0.3):
        pass


def test_a_waiting_attempt_gets_the_folder_once_the_first_lets_go_even_if_it_was_removed(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "job"
    first_done = threading.Event()

    def first_attempt() -> None:
        with job_folder_lock(folder):
            time.sleep(0.5)
            shutil.rmtree(folder)  # a finish removes the folder while it holds the lock
        first_done.set()

    worker = threading.Thread(target=first_attempt)
    worker.start()
    time.sleep(0.1)
    with job_folder_lock(folder, wait=5):
        assert first_done.is_set()
        assert folder.is_dir(), "the new attempt works in a folder that exists"
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            with pytest.raises(BlockingIOError):  # and it holds the lock on that one
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    worker.join()
