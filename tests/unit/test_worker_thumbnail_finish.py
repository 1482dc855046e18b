"""The thumbnail copy goes through the crash-safe finish with the file: named by the finish record,
moved into DATA_DIR/{jobId}, found there after a crash, and dropped from meta when it is gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from haul.contract.events import MediaMeta
from worker.finish import Pending, load_record, place_thumbnail, save_record
from worker.naming import safe_filename

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 64


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    work, job = tmp_path / "tmp" / "job", tmp_path / "data" / "job"
    work.mkdir(parents=True)
    job.mkdir(parents=True)
    return work, job


def test_the_finish_record_names_the_copy(folders: tuple[Path, Path]) -> None:
    work, _job = folders
    pending = Pending(
        work / "media.mp4", "Clip.mp4", None, MediaMeta(title="Clip", thumbnail=".thumbnail.jpg")
    )
    save_record(work, pending)
    loaded = load_record(work)
    assert loaded is not None and loaded.meta.thumbnail == ".thumbnail.jpg"


def test_the_copy_is_moved_beside_the_file(folders: tuple[Path, Path]) -> None:
    work, job = folders
    (work / ".thumbnail.jpg").write_bytes(JPEG)
    meta = place_thumbnail(work, job, MediaMeta(thumbnail=".thumbnail.jpg"))
    assert meta.thumbnail == ".thumbnail.jpg"
    assert (job / ".thumbnail.jpg").read_bytes() == JPEG
    assert not (work / ".thumbnail.jpg").exists()


def test_a_copy_an_earlier_attempt_already_moved_counts(folders: tuple[Path, Path]) -> None:
    work, job = folders
    (job / ".thumbnail.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert place_thumbnail(work, job, MediaMeta(thumbnail=".thumbnail.png")).thumbnail == ".thumbnail.png"


def test_a_copy_in_neither_place_is_dropped_from_meta(folders: tuple[Path, Path]) -> None:
    work, job = folders
    meta = place_thumbnail(work, job, MediaMeta(title="Clip", thumbnail=".thumbnail.jpg"))
    assert (meta.title, meta.thumbnail) == ("Clip", "")


@pytest.mark.parametrize("value", ["https://i.ytimg.com/vi/abc/hqdefault.jpg", "../media.mp4", "finish.json"])
def test_a_record_naming_anything_else_keeps_no_thumbnail_and_moves_nothing(
    folders: tuple[Path, Path], value: str
) -> None:
    work, job = folders
    (work / "finish.json").write_text("{}")
    assert place_thumbnail(work, job, MediaMeta(thumbnail=value)).thumbnail == ""
    assert list(job.iterdir()) == []


def test_a_copy_that_is_a_link_is_not_kept(folders: tuple[Path, Path], tmp_path: Path) -> None:
    work, job = folders
    (tmp_path / "secret").write_bytes(JPEG)
    (work / ".thumbnail.jpg").symlink_to(tmp_path / "secret")
    assert place_thumbnail(work, job, MediaMeta(thumbnail=".thumbnail.jpg")).thumbnail == ""


@pytest.mark.parametrize("title", [".thumbnail.jpg", "..thumbnail.jpg", " .thumbnail.png", ".thumbnail"])
def test_no_downloaded_file_can_take_the_copys_name(title: str) -> None:
    assert not safe_filename(title, "jpg").startswith(".")
