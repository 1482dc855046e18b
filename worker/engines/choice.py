"""Which engine runs a job: aria2 for plain files, yt-dlp for sites and streaming manifests.

`file` jobs always use aria2 and `video`/`audio` jobs yt-dlp. An `auto` job is probed first
(a HEAD request through the egress guard); the answer's media type decides. A page or an
HLS/DASH manifest needs yt-dlp's extractors; anything else is a plain file, which aria2 moves
fastest (several connections, resume from its control file). When the probe says nothing
useful, yt-dlp decides: its generic extractor handles plain files too, only slower.
"""

from __future__ import annotations

from typing import Literal

Engine = Literal["aria2", "ytdlp"]

PAGE_TYPES = ("text/html", "application/xhtml+xml")
MANIFEST_TYPES = (
    "application/vnd.apple.mpegurl",
    "application/x-mpegurl",
    "audio/mpegurl",
    "audio/x-mpegurl",
    "application/dash+xml",
)
MANIFEST_SUFFIXES = (".m3u8", ".mpd")


def choose_engine(job_type: str, url_path: str, content_type: str | None) -> Engine:
    """The engine for a job, given its type and (for auto) what a probe of its URL said."""
    if job_type == "file":
        return "aria2"
    if job_type in ("video", "audio"):
        return "ytdlp"
    media_type = (content_type or "").split(";")[0].strip().lower()
    if url_path.lower().endswith(MANIFEST_SUFFIXES) or media_type in MANIFEST_TYPES:
        return "ytdlp"
    if not media_type or media_type in PAGE_TYPES:
        return "ytdlp"
    return "aria2"
