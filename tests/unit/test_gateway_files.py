"""Finished files: the download header is safe for any name, and paths never leave the job folder."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest

from gateway.errors import ApiError
from gateway.files import content_disposition, resolve_inside

HOSTILE_NAMES = [
    "plain.mp4",
    "Ünïcödé \u2013 日本語.mp4",
    'quote"and\\backslash.mp3',
    "line\r\nbreak: injected.mp4",
    "../../etc/passwd",
    "\u202eright-to-left.mp4",
    "x" * 1000 + ".mkv",
    "emoji 🎬.webm",
    "semi;colon=equals.mp4",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_content_disposition_is_one_safe_header_line_that_round_trips(name: str) -> None:
    header = content_disposition(name)
    assert header.isascii() and "\r" not in header and "\n" not in header
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback and '"' not in fallback and "\\" not in fallback and "/" not in fallback
    assert len(fallback) <= 150
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == name


def test_files_resolve_only_inside_the_job_folder(tmp_path: Path) -> None:
    job = "8f9a3c52-5b1e-4f7a-9a0e-1c2d3e4f5a6b"
    (tmp_path / job).mkdir()
    (tmp_path / job / "video.mp4").write_bytes(b"x")
    (tmp_path / "secret.txt").write_text("no")
    assert resolve_inside(tmp_path, job, "video.mp4") == (tmp_path / job / "video.mp4").resolve()
    for name in ("../secret.txt", "/etc/passwd", "missing.mp4", "", "."):
        with pytest.raises(ApiError) as info:
            resolve_inside(tmp_path, job, name)
        assert info.value.status == 404


def test_a_symlink_pointing_outside_is_refused(tmp_path: Path) -> None:
    job = "8f9a3c52-5b1e-4f7a-9a0e-1c2d3e4f5a6b"
    (tmp_path / job).mkdir()
    (tmp_path / "outside.txt").write_text("no")
    (tmp_path / job / "link.mp4").symlink_to(tmp_path / "outside.txt")
    with pytest.raises(ApiError):
        resolve_inside(tmp_path, job, "link.mp4")
