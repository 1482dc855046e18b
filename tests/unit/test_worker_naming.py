"""Finished files get safe names, and their paths never leave DATA_DIR/{jobId}."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.naming import MAX_NAME_BYTES, UnsafePath, final_path, safe_filename

JOB = "8f9a3c52-5b1e-4f7a-9a0e-1c2d3e4f5a6b"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("My Video.mp4", "My Video.mp4"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("/absolute/path.mp3", "_absolute_path.mp3"),
        ("a\x00b.mp4", "ab.mp4"),
        ("evil\u202eexe.mp4", "evilexe.mp4"),
        ("zero\u200bwidth.mkv", "zerowidth.mkv"),
        ("line\nbreak\ttab.mp4", "line break tab.mp4"),
        ("CON.mp4", "_CON.mp4"),
        ("lpt1", "_lpt1"),
        ("...", "download"),
        ("", "download"),
        ("-rf.mp4", "rf.mp4"),
        ("what?*<>|:.webm", "what______.webm"),
        ("日本語のタイトル.mp4", "日本語のタイトル.mp4"),
        ("Title.With.Dots.MP4", "Title.With.Dots.mp4"),
    ],
)
def test_names_are_made_safe(raw: str, expected: str) -> None:
    assert safe_filename(raw) == expected


def test_a_default_extension_is_added_when_none_is_there() -> None:
    assert safe_filename("A title", "mp4") == "A title.mp4"
    assert safe_filename("already.mkv", "mp4") == "already.mkv"


@pytest.mark.parametrize("raw", ["x" * 1000 + ".mp4", "日本" * 500 + ".mkv", "é" * 999])
def test_long_names_are_cut_on_a_character_boundary_keeping_the_extension(raw: str) -> None:
    name = safe_filename(raw)
    assert len(name.encode()) <= MAX_NAME_BYTES
    name.encode().decode()  # still valid UTF-8
    if "." in raw:
        assert name.endswith(raw[raw.rindex(".") :])


@pytest.mark.parametrize(
    "raw", ["../x", "/etc/passwd", "a/b", "\x00", "\u202e", "..", ".", "CON", "x" * 5000, "a\\b", "-"]
)
def test_every_sanitised_name_lands_inside_the_job_folder(tmp_path: Path, raw: str) -> None:
    name = safe_filename(raw)
    path = final_path(tmp_path, JOB, name)
    assert path.parent == (tmp_path / JOB).resolve()


@pytest.mark.parametrize("unsafe", ["../escape.mp4", "sub/dir.mp4", "/etc/passwd", "..", "a\x00b"])
def test_final_path_refuses_unsanitised_names(tmp_path: Path, unsafe: str) -> None:
    with pytest.raises(UnsafePath):
        final_path(tmp_path, JOB, unsafe)
