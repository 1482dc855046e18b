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
in the same order (tests/unit/test_worker_warmup.py compares them). Each also made a TLS
context of its own on its first request, even for plain http, loading the CA bundle (70-110 ms
here); contexts with the same settings are now made once per process, in the warm-up, and
shared (neither requests' adapter nor urllib changes a context it is given, beyond setting the
same verify mode and ALPN again). A client certificate, which haul never sets, keeps its own.

Nothing here touches the network or starts a thread, so the pool's forks copy no lock held by
another thread.
"""

from __future__ import annotations

import functools
import ssl
import time
from typing import Any

import structlog
import yt_dlp
from yt_dlp.extractor import get_info_extractor
from yt_dlp.networking._helper import make_ssl_context
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


@functools.cache
def shared_ssl_context(verify: bool, legacy: bool, use_certifi: bool) -> ssl.SSLContext:
    """yt-dlp's TLS context for these settings, made once per process."""
    context: ssl.SSLContext = make_ssl_context(verify=verify, legacy_support=legacy, use_certifi=use_certifi)
    return context


@functools.cache
def sharing_ssl_context(handler: Any) -> Any:
    """`handler` (a yt-dlp request handler class), but taking its TLS context from
    `shared_ssl_context`; the same name, so the same RH_KEY and preferences."""

    def _make_sslcontext(self: Any, legacy_ssl_support: bool | None = None) -> ssl.SSLContext:
        if self._client_cert:
            return handler._make_sslcontext(self, legacy_ssl_support)  # type: ignore[no-any-return]
        legacy = self.legacy_ssl_support if legacy_ssl_support is None else legacy_ssl_support
        return shared_ssl_context(bool(self.verify), bool(legacy), not self.prefer_system_certs)

    return type(handler.__name__, (handler,), {"_make_sslcontext": _make_sslcontext, "__module__": __name__})


class YoutubeDL(yt_dlp.YoutubeDL):  # type: ignore[misc]
    """yt-dlp's YoutubeDL, given its default extractors from this process's one list, and its
    request handlers the TLS contexts made once per process."""

    def build_request_director(self, handlers: Any, preferences: Any = None) -> Any:
        return super().build_request_director([sharing_ssl_context(h) for h in handlers], preferences)

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
        for handler in ydl._request_director.handlers.values():
            handler._make_sslcontext()  # the CA bundle, loaded for every job's requests
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
