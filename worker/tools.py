"""Which ffmpeg, ffprobe and aria2c this worker uses: the system's, else those pip packages ship."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Tools:
    ffmpeg: str | None
    ffprobe: str | None
    aria2c: str | None

    def describe(self) -> dict[str, str]:
        """For the worker's `hello`, which the gateway's health shows."""
        return {
            "ffmpeg": f"ok {self.ffmpeg}" if self.ffmpeg else "missing",
            "ffprobe": f"ok {self.ffprobe}" if self.ffprobe else "missing: durations are not checked",
            "aria2": f"ok {self.aria2c}" if self.aria2c else "missing",
        }


def _pip_ffmpeg() -> str | None:
    try:
        import imageio_ffmpeg  # type: ignore[import-not-found]
    except ImportError:
        return None
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _works(binary: str | None) -> bool:
    if binary is None:
        return False
    try:
        return subprocess.run([binary, "-version"], capture_output=True, timeout=10).returncode == 0
    except OSError:
        return False


@cache
def find_tools() -> Tools:
    ffmpeg = shutil.which("ffmpeg") or _pip_ffmpeg()
    return Tools(
        ffmpeg=ffmpeg if _works(ffmpeg) else None,
        ffprobe=shutil.which("ffprobe"),
        aria2c=shutil.which("aria2c"),
    )
