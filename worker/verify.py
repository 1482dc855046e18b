"""Checks that a finished download is whole before it is handed over.

A refused segment, a dropped connection or a lying server can leave a file that looks
finished but is short. The check compares what was written with what was announced: the
byte count against the total the server or extractor declared, and, for media, the
duration ffprobe reads against the duration the extractor reported.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

# ffprobe's duration may differ from the extractor's by container rounding and trailing frames.
DURATION_TOLERANCE = 0.05
DURATION_SLACK_SECONDS = 1.0
PROBE_TIMEOUT = 30


class Truncated(Exception):
    """The file is shorter than announced."""


def media_duration(ffprobe: str, path: Path) -> float | None:
    try:
        result = subprocess.run(
            [ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
            capture_output=True, timeout=PROBE_TIMEOUT, check=False,
        )  # fmt: skip
        duration = json.loads(result.stdout or b"{}").get("format", {}).get("duration")
        return float(duration) if duration not in (None, "N/A") else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def check_complete(
    path: Path, announced_bytes: int | None, announced_duration: float, ffprobe: str | None
) -> None:
    """Raise Truncated when the file is shorter than its announced size or duration."""
    size = path.stat().st_size
    if announced_bytes and size < announced_bytes:
        raise Truncated(f"{size} bytes written of {announced_bytes} announced")
    if announced_duration > 0 and ffprobe is not None:
        duration = media_duration(ffprobe, path)
        allowed = announced_duration * (1 - DURATION_TOLERANCE) - DURATION_SLACK_SECONDS
        if duration is not None and duration < allowed:
            raise Truncated(f"{duration:.1f} s of media, {announced_duration:.1f} s announced")
