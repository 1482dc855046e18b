"""What yt-dlp pays on first use, paid once in the worker's main process before the pool forks.

Every job runs in a fresh work horse (an RQ fork of a worker, itself a fork of the pool), and
what a fork inherits it does not pay again. yt-dlp's import is already done before the fork; the
first URL match is not: it compiles the `_VALID_URL` patterns of some 1,750 extractors (yt-dlp
keeps each compiled pattern on its class, so the work is done once per process), and the generic
extractor, where every direct file, feed and page ends, is imported only when first used. A
job paid that at least twice: once where its URL is resolved or downloaded (the isolated
child) and once for the archive identity of its URL (worker.media_identity), about 0.5-0.7 s
each here. After `warm_ytdlp()` in the pool, a horse pays neither.

Every `YoutubeDL` also builds its list of extractors on creation, through a de-duplication that
is quadratic in their number (0.05-0.15 s each here), and a job makes two (the resolve, the
download). `YoutubeDL` below takes the list built once per process instead, the same extractors
in the same order (tests/unit/test_worker_warmup.py compares them).

Nothing here touches the network or starts a thread, so the pool's forks copy no lock held by
another thread.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import structlog
import yt_dlp
from yt_dlp.extractor import get_info_extractor
from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor
from yt_dlp.utils import unified_timestamp

from worker.media_identity import GENERIC, _extractors, url_identity

log = structlog.get_logger(__name__)

# A URL that matches no site's pattern, so that every extractor's pattern is compiled and tried,
# as a job's URL of a site yt-dlp does not know is (the generic extractor answers for it).
WARMUP_URL = "http://warmup.invalid/warmup/media.bin"
# Extractors yt-dlp hands a direct file or a page to after the generic one has read it.
FOLLOW_UPS = (GENERIC, "HTML5MediaEmbed")
# A Last-Modified date, as the generic extractor reads one from every direct file's headers.
WARMUP_DATE = "Thu, 03 Dec 2026 00:00:00 GMT"


@functools.cache
def default_extractors() -> tuple[Any, ...]:
    """What a YoutubeDL with the default `allowed_extractors` adds, in its order: taken once from
    yt-dlp's own YoutubeDL, so that the list is exactly its (classes, and the type of any
    extractor it adds as an instance)."""
    with yt_dlp.YoutubeDL({"quiet": True}) as reference:
        return tuple(reference._ies.values())


class YoutubeDL(yt_dlp.YoutubeDL):  # type: ignore[misc]
    """yt-dlp's YoutubeDL, given its default extractors from this process's one list."""

    def add_default_info_extractors(self) -> None:
        if self.params.get("allowed_extractors", ["default"]) != ["default"]:
            super().add_default_info_extractors()
            return
        for extractor in default_extractors():
            # An instance belongs to one YoutubeDL (it is given its downloader): a new one each.
            self.add_info_extractor(extractor if isinstance(extractor, type) else type(extractor)())


def _warm_processing(ffmpeg_location: str | None) -> None:
    """What yt-dlp does with a resolved URL before it downloads, on a made-up direct file (no
    request is made): choosing the default format compiles its selector patterns and asks
    whether ffmpeg can merge, which runs `ffmpeg -version` (and `ffprobe -version` here) once
    per location and per process."""
    options: dict[str, Any] = {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "cachedir": False,
        "simulate": True,
        "merge_output_format": "mp4",
    }
    if ffmpeg_location:
        options["ffmpeg_location"] = ffmpeg_location
    info = {
        "id": "warmup",
        "title": "warmup",
        "url": WARMUP_URL,
        "ext": "mp4",
        "extractor": "generic",
        "extractor_key": GENERIC,
        "webpage_url": WARMUP_URL,
    }
    with YoutubeDL(options) as ydl:
        ydl.process_ie_result(info, download=False)  # the default format asks whether ffmpeg merges
        ffmpeg = FFmpegPostProcessor(ydl)
        if ffmpeg.available:
            ffmpeg.probe_available  # noqa: B018 - runs `ffprobe -version`, remembered per process


def warm_ytdlp(ffmpeg_location: str | None = None) -> float:
    """Compile every extractor's URL pattern, import the extractors a download of a plain URL
    uses, and go through the processing of a resolved URL with yt-dlp's own ffmpeg lookup (as
    the resolve of a collection does) and with `ffmpeg_location` (as the download does); the
    seconds it took. Nothing is fetched."""
    started = time.monotonic()
    for extractor in _extractors():
        extractor.suitable(WARMUP_URL)
    for key in FOLLOW_UPS:
        try:
            get_info_extractor(key).real_class  # noqa: B018 - the lazy class imports its module here
        except (KeyError, AttributeError, ImportError):  # an extractor this yt-dlp has not
            continue
    url_identity(WARMUP_URL)  # the archive identity's own cache of extractors
    unified_timestamp(WARMUP_DATE)  # the first strptime builds the locale's patterns
    default_extractors()
    for location in dict.fromkeys([None, ffmpeg_location]):
        _warm_processing(location)
    took = time.monotonic() - started
    log.info("yt-dlp warmed up", seconds=round(took, 3))
    return took
