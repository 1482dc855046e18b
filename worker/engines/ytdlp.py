"""yt-dlp for sites, HLS and DASH, with ffmpeg merging; audio is converted afterwards.

The engine writes into the job's own temporary folder under a fixed name, so a later
attempt finds and resumes the `.part` file; the final, safe name is chosen afterwards.
Only whitelisted options reach yt-dlp; the URL is passed as data, never as a command line.

An audio job downloads the best audio as it is, then `AudioConverter` turns it into the
requested format with an ffmpeg the worker runs itself, so conversion reports progress and
stops when asked. A pause during conversion keeps the download, and the next attempt only
converts again.

The media's thumbnail is fetched last, by the same `YoutubeDL` (so through the job's egress
guard), and kept as a copy beside the file (worker.thumbnails); `meta.thumbnail` names that
copy, never the site's URL.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yt_dlp
from yt_dlp.networking.exceptions import RequestError
from yt_dlp.utils import DownloadError, YoutubeDLError

from haul.contract.events import JobSpec, MediaMeta
from worker.egress.tools import ToolEgress
from worker.engines.base import Downloaded, DownloadFailed, OnSample, StopCheck, StopRequested
from worker.engines.errors import final_failure, http_failure
from worker.engines.ffmpeg import AudioConverter
from worker.media_identity import download_identity
from worker.samples import Sample, from_ytdlp
from worker.thumbnails import save_thumbnail
from worker.tools import find_tools
from worker.warmup import YoutubeDL

HTTP_STATUS = re.compile(r"HTTP Error (\d{3})")
DEFAULT_AUDIO_FORMAT = "m4a"
FFMPEG_MISSING_MESSAGE = "audio jobs need ffmpeg to convert the download, and this worker has none"


def format_selector(spec: JobSpec) -> str:
    if spec.type == "audio":
        return "bestaudio/best"
    height = f"[height<={spec.max_height}]" if spec.max_height else ""
    return f"bestvideo{height}+bestaudio/best{height}/best"


def classify(error: YoutubeDLError) -> DownloadFailed:
    """A stable code for the job's error, and whether another attempt could help.

    `error` is what yt-dlp raised: usually a DownloadError, but a redirect to a scheme no
    request handler fetches escapes extract_info as a bare RequestError.
    """
    text = str(error)
    status = HTTP_STATUS.search(text)
    if status:
        return http_failure(int(status.group(1)), text)
    if "Unsupported URL" in text:
        return DownloadFailed("UNSUPPORTED_URL", text, retryable=False)
    return final_failure(text) or DownloadFailed("DOWNLOAD_ERROR", text, retryable=True)


def _stop_if_asked(should_stop: StopCheck) -> None:
    action = should_stop()
    if action is not None:
        raise StopRequested(action)


def _extract(ydl: yt_dlp.YoutubeDL, url: str) -> dict[str, Any]:
    """Resolve and download `url`; yt-dlp's errors become DownloadFailed (or the stop they carry)."""
    try:
        info = ydl.extract_info(url, download=True)
    except DownloadError as exc:
        cause = exc.exc_info[1] if exc.exc_info else None
        if isinstance(cause, StopRequested):
            raise cause from None
        raise classify(exc) from None
    except RequestError as exc:
        raise classify(exc) from None
    if info is None:
        raise DownloadFailed("NO_MEDIA", "yt-dlp found nothing to download", retryable=False)
    return dict(info)


class YtDlpEngine:
    def __init__(
        self,
        ffmpeg_location: str | None,
        concurrent_fragments: int,
        egress: ToolEgress | None = None,
        ffprobe_location: str | None = None,
    ) -> None:
        self._ffmpeg = ffmpeg_location
        self._fragments = concurrent_fragments
        # The job's way out, for yt-dlp and the conversion; by default none (the guard switched off).
        self._egress = egress or ToolEgress()
        # Only lets a conversion copy a stream that already has the target codec; without
        # one given, the worker's own (if any).
        self._ffprobe = ffprobe_location

    def options(self, spec: JobSpec, work_dir: Path, hooks: dict[str, list[Any]]) -> dict[str, Any]:
        options: dict[str, Any] = {
            "outtmpl": {"default": "media.%(ext)s"},
            "paths": {"home": str(work_dir), "temp": str(work_dir)},
            "format": format_selector(spec),
            "merge_output_format": spec.video_container or "mp4",
            "noplaylist": True,
            "quiet": True,
            "no_warnings": True,
            "noprogress": True,
            "continuedl": True,
            "cachedir": False,
            "concurrent_fragment_downloads": self._fragments,
            # A refused or missing segment must fail the job, not give a truncated file.
            "skip_unavailable_fragments": False,
            "socket_timeout": 30,
            "retries": 3,
            "fragment_retries": 3,
            # yt-dlp's own downloaders only: an external one (aria2c, ffmpeg) would escape
            # the per-download checks, and aria2 as HLS downloader can write arbitrary files.
            "hls_prefer_native": True,
            **hooks,
        }
        if self._ffmpeg:
            options["ffmpeg_location"] = self._ffmpeg
        return self._egress.ytdlp_options(options)

    def run(self, spec: JobSpec, work_dir: Path, on_sample: OnSample, should_stop: StopCheck) -> Downloaded:
        if spec.type == "audio" and self._ffmpeg is None:  # say so before downloading anything
            raise DownloadFailed("FFMPEG_MISSING", FFMPEG_MISSING_MESSAGE, retryable=False)

        def progress_hook(hook: dict[str, Any]) -> None:
            action = should_stop()
            if action is not None:
                raise StopRequested(action)
            sample = from_ytdlp(hook)
            if sample is not None:
                on_sample(sample)

        def postprocessor_hook(hook: dict[str, Any]) -> None:
            action = should_stop()
            if action is not None:
                raise StopRequested(action)
            if hook.get("status") == "started":
                stage = "merging" if hook.get("postprocessor") == "Merger" else "postprocessing"
                # For audio, yt-dlp's own steps (fixups, moving the file) come before the conversion.
                on_sample(Sample(stage, 0.0 if spec.type == "audio" else 100.0))

        hooks = {"progress_hooks": [progress_hook], "postprocessor_hooks": [postprocessor_hook]}
        with YoutubeDL(self.options(spec, work_dir, hooks)) as ydl:
            info = _extract(ydl, spec.url)
            downloads = info.get("requested_downloads") or [{}]
            path = Path(downloads[-1].get("filepath") or "")
            if not path.is_file():
                raise DownloadFailed("NO_OUTPUT", "yt-dlp reported success but wrote no file", retryable=True)
            duration = float(info.get("duration") or 0.0)
            if spec.type == "audio":
                path = self._convert(path, spec, duration, on_sample, should_stop)
            # Last, so that a refusal the guard counts here cannot colour a failure above (see
            # worker.tasks), and through this same YoutubeDL, whose proxy is the job's guard.
            _stop_if_asked(should_stop)
            thumbnail = save_thumbnail(ydl.urlopen, info.get("thumbnail"), work_dir)
            _stop_if_asked(should_stop)  # a stop that interrupted the fetch, whatever it raised there
        meta = MediaMeta(
            title=str(info.get("title") or "")[:1024].replace("\x00", ""),
            duration=duration,
            extractor=str(info.get("extractor_key") or info.get("extractor") or "")[:256],
            # The name of the copy just saved, never the site's URL (haul.contract.thumbnails).
            thumbnail=thumbnail,
        )
        return Downloaded(
            path,
            meta.title or "download",
            path.suffix.lstrip("."),
            meta,
            archive_id=download_identity(info, spec.url),
        )

    def _convert(
        self, source: Path, spec: JobSpec, duration: float, on_sample: OnSample, should_stop: StopCheck
    ) -> Path:
        """The requested audio format, from the download; the download itself is removed after."""
        assert self._ffmpeg is not None  # checked before downloading
        ffprobe = self._ffprobe or find_tools().ffprobe
        converter = AudioConverter(self._ffmpeg, ffprobe, self._egress)
        output = converter.convert(
            source, spec.audio_format or DEFAULT_AUDIO_FORMAT, duration or None, on_sample, should_stop
        )
        source.unlink(missing_ok=True)
        return output
