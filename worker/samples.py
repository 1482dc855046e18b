"""Progress readings from yt-dlp hooks, aria2 status and ffmpeg's `-progress` output.

Each parser turns what a tool says into a `Sample`, a tool-independent reading. Tools say odd
things (None, negative speeds, NaN, totals smaller than what was received); the parsers
clamp or drop them, so a Sample is always something the contract accepts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from haul.contract import limits


@dataclass(frozen=True)
class Sample:
    stage: str
    progress: float
    downloaded_bytes: int = 0
    total_bytes: int | None = None
    speed: float | None = None
    eta: float | None = None


def _number(value: Any, maximum: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return min(number, maximum)


def _count(value: Any) -> int | None:
    number = _number(value, limits.MAX_BYTES)
    return None if number is None else int(number)


def _percent(done: float, total: float | None) -> float:
    if not total:
        return 0.0
    return max(0.0, min(100.0, done * 100.0 / total))


def from_ytdlp(hook: dict[str, Any]) -> Sample | None:
    """A reading from a yt-dlp progress hook; None for hook calls that carry no progress."""
    status = hook.get("status")
    downloaded = _count(hook.get("downloaded_bytes")) or 0
    total = _count(hook.get("total_bytes")) or _count(hook.get("total_bytes_estimate"))
    if total is not None and total < downloaded:
        total = None
    if status == "finished":
        return Sample("downloading", 100.0, downloaded, total or downloaded or None)
    if status != "downloading":
        return None
    fragments = _count(hook.get("fragment_count"))
    fragment = _count(hook.get("fragment_index"))
    if fragments and fragment is not None:
        # HLS and DASH: no reliable byte total until the end, but fragments are counted.
        progress = _percent(fragment, fragments)
    else:
        progress = _percent(downloaded, total)
    return Sample(
        "downloading",
        progress,
        downloaded,
        total,
        _number(hook.get("speed"), limits.MAX_SPEED),
        _number(hook.get("eta"), limits.MAX_ETA),
    )


def from_aria2(status: dict[str, Any]) -> Sample:
    """A reading from aria2's tellStatus (its numbers arrive as strings)."""
    total = _count(status.get("totalLength")) or None
    done = _count(status.get("completedLength")) or 0
    speed = _number(status.get("downloadSpeed"), limits.MAX_SPEED)
    eta = None
    if total and speed:
        eta = min((total - done) / speed, limits.MAX_ETA) if total >= done else None
    return Sample("downloading", _percent(done, total), done, total, speed, eta)


class FfmpegProgress:
    """Reads `ffmpeg -progress pipe:1` key=value lines; a block ends with `progress=...`."""

    def __init__(self, duration: float | None, stage: str = "postprocessing") -> None:
        self._duration = duration if duration and duration > 0 else None
        self._stage = stage
        self._block: dict[str, str] = {}

    def feed(self, line: str) -> Sample | None:
        key, sep, value = line.strip().partition("=")
        if not sep:
            return None
        self._block[key] = value.strip()
        if key != "progress":
            return None
        block, self._block = self._block, {}
        # out_time_us is microseconds; so is out_time_ms, despite its name.
        micros = _number(block.get("out_time_us"), 1e15) or _number(block.get("out_time_ms"), 1e15) or 0.0
        seconds = micros / 1_000_000
        size = _count(block.get("total_size")) or 0
        done = value.strip() == "end"
        progress = 100.0 if done else (_percent(seconds, self._duration) if self._duration else 0.0)
        speed_factor = _number(block.get("speed", "").rstrip("x"), 1e6)
        eta = None
        if self._duration and speed_factor and not done:
            eta = max(0.0, (self._duration - seconds) / speed_factor)
        return Sample(self._stage, progress, size, None, None, eta)
