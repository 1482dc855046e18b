"""The worker refuses folders it could not move finished files between atomically."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from haul.runtime.startup import StartupProblem
from worker.__main__ import prepare_folders
from worker.settings import WorkerSettings

SHM = Path("/dev/shm")


def test_folders_on_one_filesystem_are_created(tmp_path: Path) -> None:
    settings = WorkerSettings(data_dir=tmp_path / "data", tmp_dir=tmp_path / "tmp")
    prepare_folders(settings)
    assert (tmp_path / "data").is_dir() and (tmp_path / "tmp").is_dir()


@pytest.mark.skipif(
    not SHM.is_dir() or os.stat(SHM).st_dev == os.stat(Path.cwd()).st_dev,
    reason="needs a second filesystem (/dev/shm)",
)
def test_folders_on_different_filesystems_stop_the_start_with_a_clear_message(tmp_path: Path) -> None:
    other = SHM / f"haul-test-{os.getpid()}"
    try:
        settings = WorkerSettings(data_dir=tmp_path / "data", tmp_dir=other)
        with pytest.raises(StartupProblem, match="different filesystems"):
            prepare_folders(settings)
    finally:
        other.rmdir()
