"""A finished file is checked against what was announced before it is handed over."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from worker.verify import Truncated, check_complete


def test_a_file_shorter_than_announced_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 100)
    check_complete(path, 100, 0.0, None)
    check_complete(path, None, 0.0, None)
    with pytest.raises(Truncated, match="100 bytes written of 1000"):
        check_complete(path, 1000, 0.0, None)


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs Debian's ffmpeg (make setup installs it)")
def test_media_shorter_than_its_announced_duration_is_truncated(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=duration=2:size=64x64:rate=10", str(clip)],
        check=True, timeout=60,
    )  # fmt: skip
    ffprobe = shutil.which("ffprobe")
    check_complete(clip, None, 2.0, ffprobe)
    check_complete(clip, None, 2.5, ffprobe)  # within the tolerance
    with pytest.raises(Truncated, match="announced"):
        check_complete(clip, None, 10.0, ffprobe)
