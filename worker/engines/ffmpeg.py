"""Local audio conversion: the file yt-dlp downloaded becomes the mp3, m4a or opus asked for.

ffmpeg runs here, not inside yt-dlp, so its `-progress` output reaches the job's progress and
a stop request reaches ffmpeg. It only ever reads the one local file the download wrote (the
job's `ToolEgress` gives these input arguments and checks the whole command):
- `-protocol_whitelist file`: no network protocol, no pipe, no nested opens of anything else;
- `-format_whitelist`: single-file containers only. A playlist (HLS, a concat list) saved to
  disk would otherwise read other local files, such as another job's download, even when the
  file is named `.mp3`;
- the input path is absolute, so a name starting with `-` can never become an option.

When the source already holds the target codec (ffprobe tells, when the worker has it), the
stream is copied into the target's container instead of encoded again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import selectors
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from worker.egress.tools import ToolEgress
from worker.engines.base import DownloadFailed, OnSample, StopCheck, StopRequested
from worker.samples import FfmpegProgress, Sample

STAGE = "postprocessing"
POLL_SECONDS = 0.1
TERMINATE_GRACE_SECONDS = 1.0
PROBE_TIMEOUT_SECONDS = 30
ERROR_TAIL_BYTES = 4000
READ_SIZE = 64 * 1024


@dataclass(frozen=True)
class AudioTarget:
    extension: str
    codec: str  # the codec name ffprobe reports for streams of this target
    muxer: str
    encoder: tuple[str, ...]


TARGETS: dict[str, AudioTarget] = {
    # VBR quality 2: about 190 kbit/s, transparent for most music.
    "mp3": AudioTarget("mp3", "mp3", "mp3", ("-c:a", "libmp3lame", "-q:a", "2")),
    # `ipod` is ffmpeg's muxer for .m4a: an MP4 that players accept as audio.
    "m4a": AudioTarget("m4a", "aac", "ipod", ("-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart")),
    # `opus` is Ogg with the .opus conventions.
    "opus": AudioTarget("opus", "opus", "opus", ("-c:a", "libopus", "-b:a", "128k", "-vbr", "on")),
}


@dataclass(frozen=True)
class SourceAudio:
    codec: str | None
    duration: float | None


def convert_command(
    ffmpeg: str, source: Path, output: Path, target: AudioTarget, copy: bool, egress: ToolEgress
) -> list[str]:
    codec = ("-c:a", "copy") if copy else target.encoder
    command = [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        *egress.ffmpeg_input(source),
        "-map", "0:a:0", "-vn", "-sn", "-dn",
        *codec,
        "-progress", "pipe:1", "-nostats",
        "-f", target.muxer, str(output.absolute()),
    ]  # fmt: skip
    egress.check_ffmpeg(command)  # no concat list, no -safe, no filter that opens inputs of its own
    return command


def probe_audio(ffprobe: str, source: Path, egress: ToolEgress) -> SourceAudio | None:
    """The codec of the first audio stream and the duration, or None when ffprobe cannot tell."""
    command = [
        ffprobe, "-v", "error",
        "-select_streams", "a:0", "-show_entries", "stream=codec_name:format=duration", "-of", "json",
        *egress.ffmpeg_input(source),
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, timeout=PROBE_TIMEOUT_SECONDS, check=False)
        found = json.loads(result.stdout or b"{}")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    streams = found.get("streams") or [{}]
    duration = found.get("format", {}).get("duration")
    try:
        seconds = float(duration) if duration not in (None, "N/A") else None
    except ValueError:
        seconds = None
    return SourceAudio(streams[0].get("codec_name"), seconds)


class AudioConverter:
    def __init__(self, ffmpeg: str, ffprobe: str | None, egress: ToolEgress | None = None) -> None:
        self._ffmpeg = ffmpeg
        self._ffprobe = ffprobe
        # Only its ffmpeg rules apply here: the conversion reads one local file and no network.
        self._egress = egress or ToolEgress()

    def convert(
        self,
        source: Path,
        audio_format: str,
        duration: float | None,
        on_sample: OnSample,
        should_stop: StopCheck,
    ) -> Path:
        """Write `converted.<ext>` beside `source` and return it; the source is left alone.

        Raises StopRequested (ffmpeg is gone by then) or DownloadFailed("CONVERT_FAILED").
        A partial output is removed on every failure.
        """
        target = TARGETS[audio_format]
        output = source.parent / f"converted.{target.extension}"
        on_sample(Sample(STAGE, 0.0))
        _raise_if_stopped(should_stop)
        found = probe_audio(self._ffprobe, source, self._egress) if self._ffprobe else None
        copy = found is not None and found.codec == target.codec
        command = convert_command(self._ffmpeg, source, output, target, copy, self._egress)
        try:
            self._run(command, duration or (found.duration if found else None), on_sample, should_stop)
        except BaseException:
            output.unlink(missing_ok=True)
            raise
        return output

    def _run(
        self, command: list[str], duration: float | None, on_sample: OnSample, should_stop: StopCheck
    ) -> None:
        reader = ProgressReader(duration)
        with running(command) as process:
            errors = follow(process, reader, on_sample, should_stop)
            while process.poll() is None:  # both pipes closed; ffmpeg is exiting
                _raise_if_stopped(should_stop)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(POLL_SECONDS)
        if process.returncode != 0:
            tail = errors.decode("utf-8", "replace").strip()
            # A signal is not the input's fault (the OOM killer, say); another attempt may work.
            raise DownloadFailed(
                "CONVERT_FAILED",
                tail or f"ffmpeg exited with status {process.returncode}",
                retryable=process.returncode < 0,
            )
        if not reader.finished:
            # Status 0 without the last report: ffmpeg was killed and someone else reaped it
            # (the watchdog's kill_children waits for the children it kills), so Popen saw no status.
            raise DownloadFailed(
                "CONVERT_FAILED", "ffmpeg stopped before the end of the input", retryable=True
            )


@contextlib.contextmanager
def running(command: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    """ffmpeg, reaped however the block ends: an exception, a stop, a signal's StopRequested."""
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        yield process
    finally:
        reap(process)


def reap(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (ffmpeg stops cleanly), SIGKILL after a grace period, and always wait."""
    try:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(TERMINATE_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


class ProgressReader:
    """ffmpeg's `-progress` bytes, in whatever pieces the pipe gives them, to samples.

    out_time can step back (N/A mid-run); the percent handed on only rises. `finished` tells
    whether ffmpeg wrote its last report, which it does only when it ran to the end.
    """

    def __init__(self, duration: float | None) -> None:
        self._parser = FfmpegProgress(duration, STAGE)
        self._pending = b""
        self._best = 0.0
        self.finished = False

    def feed(self, chunk: bytes) -> list[Sample]:
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        samples = []
        for line in lines:
            text = line.decode("utf-8", "replace")
            self.finished = self.finished or text.strip() == "progress=end"
            sample = self._parser.feed(text)
            if sample is not None:
                self._best = max(self._best, sample.progress)
                samples.append(dataclasses.replace(sample, progress=self._best))
        return samples


def follow(
    process: subprocess.Popen[bytes], reader: ProgressReader, on_sample: OnSample, should_stop: StopCheck
) -> bytes:
    """Hand on ffmpeg's progress until it closes its pipes, checking for a stop meanwhile.

    Both pipes are read in this one thread, so neither can fill up and block ffmpeg; of
    stderr only the tail is kept. Returns that tail.
    """
    assert process.stdout is not None and process.stderr is not None
    errors = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        selector.register(process.stderr, selectors.EVENT_READ)
        while selector.get_map():
            _raise_if_stopped(should_stop)
            for key, _events in selector.select(POLL_SECONDS):
                chunk = os.read(key.fd, READ_SIZE)
                if not chunk:
                    selector.unregister(key.fileobj)
                elif key.fileobj is process.stderr:
                    errors = (errors + chunk)[-ERROR_TAIL_BYTES:]
                else:
                    for sample in reader.feed(chunk):
                        on_sample(sample)
    return errors


def _raise_if_stopped(should_stop: StopCheck) -> None:
    action = should_stop()
    if action is not None:
        raise StopRequested(action)
