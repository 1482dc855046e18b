"""Audio conversion with the real ffmpeg: formats, progress, stops, failures and hostile inputs."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from haul.contract.events import JobSpec
from tests.support.media_server import MediaFiles, MediaServer, serve_files
from worker.engines.base import DownloadFailed, StopRequested
from worker.engines.ffmpeg import AudioConverter
from worker.engines.ytdlp import YtDlpEngine
from worker.samples import Sample
from worker.watchdog import Interrupter

CLIP_SECONDS = 5
LONG_SECONDS = 600  # about 3 s to encode as opus here: long enough to stop it midway


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is missing: run `make setup` as root (it installs the Debian package)")
    return path


def make(output: Path, *arguments: str) -> Path:
    subprocess.run(
        [tool("ffmpeg"), "-hide_banner", "-loglevel", "error", "-y", *arguments, str(output)],
        check=True, timeout=120,
    )  # fmt: skip
    return output


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An mp4 with video and AAC audio, a video-only mp4, and ten minutes of FLAC."""
    folder = tmp_path_factory.mktemp("sources")
    make(
        folder / "clip.mp4",
        "-f", "lavfi", "-i", f"testsrc=size=160x120:rate=25:duration={CLIP_SECONDS}",
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={CLIP_SECONDS}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "64k", "-shortest",
    )  # fmt: skip
    make(
        folder / "silent.mp4",
        "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=2",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
    )  # fmt: skip
    make(folder / "long.flac", "-f", "lavfi", "-i", f"sine=frequency=440:duration={LONG_SECONDS}")
    return folder


def source_copy(sources: Path, name: str, work_dir: Path) -> Path:
    return Path(shutil.copy(sources / name, work_dir / f"media{Path(name).suffix}"))


def probe(path: Path) -> dict[str, Any]:
    result = subprocess.run(
        [tool("ffprobe"), "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True, check=True, timeout=30,
    )  # fmt: skip
    return dict(json.loads(result.stdout))


def ffmpeg_children() -> list[psutil.Process]:
    """This process's ffmpeg children, zombies included."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "ffmpeg" in child.name():
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def never() -> str | None:
    return None


@pytest.mark.parametrize(
    ("audio_format", "codec", "container"),
    [("mp3", "mp3", "mp3"), ("m4a", "aac", "mov,mp4"), ("opus", "opus", "ogg")],
)
def test_each_format_is_encoded_with_its_codec_container_and_duration(
    sources: Path, tmp_path: Path, audio_format: str, codec: str, container: str
) -> None:
    source = source_copy(sources, "clip.mp4", tmp_path)
    samples: list[Sample] = []
    # Without ffprobe nothing is copied: every format goes through its encoder.
    output = AudioConverter(tool("ffmpeg"), None).convert(
        source, audio_format, CLIP_SECONDS, samples.append, never
    )
    assert output == tmp_path / f"converted.{audio_format}"
    found = probe(output)
    assert [s["codec_name"] for s in found["streams"]] == [codec], "one audio stream, the video is dropped"
    assert found["format"]["format_name"].startswith(container)
    assert abs(float(found["format"]["duration"]) - CLIP_SECONDS) <= 0.5
    assert samples[0] == Sample("postprocessing", 0.0), "the stage is announced when conversion starts"
    assert {s.stage for s in samples} == {"postprocessing"}
    progress = [s.progress for s in samples]
    assert progress == sorted(progress) and progress[-1] == 100.0
    assert source.exists(), "the converter leaves the source to its caller"


def test_aac_in_mp4_is_copied_into_m4a_when_ffprobe_can_tell(sources: Path, tmp_path: Path) -> None:
    source = source_copy(sources, "clip.mp4", tmp_path)
    output = AudioConverter(tool("ffmpeg"), tool("ffprobe")).convert(
        source, "m4a", CLIP_SECONDS, lambda _s: None, never
    )
    (stream,) = probe(output)["streams"]
    assert stream["codec_name"] == "aac"
    # The source's 64 kbit/s survives; the aac encoder would have written 192 kbit/s.
    assert int(stream["bit_rate"]) < 100_000


def test_a_long_conversion_reports_percentages_that_rise_along_the_way(sources: Path, tmp_path: Path) -> None:
    source = source_copy(sources, "long.flac", tmp_path)
    samples: list[Sample] = []
    started = time.monotonic()
    output = AudioConverter(tool("ffmpeg"), None).convert(source, "mp3", LONG_SECONDS, samples.append, never)
    assert abs(float(probe(output)["format"]["duration"]) - LONG_SECONDS) <= 0.5
    progress = [s.progress for s in samples]
    between = [p for p in progress if 0.0 < p < 100.0]
    assert len(between) >= 1, f"no reading during {time.monotonic() - started:.1f} s of work: {progress}"
    assert progress == sorted(progress) and progress[0] == 0.0 and progress[-1] == 100.0
    assert len(set(progress)) >= 3


def test_a_stop_during_conversion_kills_ffmpeg_and_raises_within_2_seconds(
    sources: Path, tmp_path: Path
) -> None:
    source = source_copy(sources, "long.flac", tmp_path)
    stop_asked: list[float] = []
    running: list[psutil.Process] = []

    def on_sample(sample: Sample) -> None:
        if 0.0 < sample.progress < 100.0 and not stop_asked:
            running.extend(ffmpeg_children())
            stop_asked.append(time.monotonic())

    def should_stop() -> str | None:
        return "pause" if stop_asked else None

    with pytest.raises(StopRequested) as stopped:
        AudioConverter(tool("ffmpeg"), None).convert(source, "opus", LONG_SECONDS, on_sample, should_stop)
    assert time.monotonic() - stop_asked[0] < 2.0
    assert stopped.value.action == "pause"
    assert [p.is_running() for p in running] == [False], "ffmpeg was running, and is gone (reaped)"
    assert ffmpeg_children() == []
    assert not (tmp_path / "converted.opus").exists(), "the partial output is removed"
    assert source.exists(), "the download is kept, so the next attempt only converts"


def cancelled_conversion(ffmpeg: str, source: Path) -> dict[str, Any]:
    """A conversion cancelled the way production cancels a job, run in a process of its own:
    the Interrupter kills every child of its process, which here would include the test
    session's PostgreSQL and Redis servers."""
    interrupter = Interrupter()
    converting = threading.Event()
    stop_asked: list[float] = []

    def cancel_once_converting() -> None:
        converting.wait(30)
        stop_asked.append(time.monotonic())
        interrupter.interrupt("cancel")

    def on_sample(sample: Sample) -> None:
        if 0.0 < sample.progress < 100.0:
            converting.set()

    canceller = threading.Thread(target=cancel_once_converting)
    canceller.start()
    raised = ""
    try:
        with interrupter.armed():
            AudioConverter(ffmpeg, None).convert(source, "opus", LONG_SECONDS, on_sample, never)
    except (StopRequested, DownloadFailed) as exc:
        raised = type(exc).__name__
    stopped_after = time.monotonic() - stop_asked[0] if stop_asked else None
    canceller.join(5)
    left = [p.pid for p in psutil.Process().children(recursive=True) if p.name() == "ffmpeg"]
    return {"raised": raised, "stopped_after": stopped_after, "ffmpeg_left": left}


def test_the_workers_interrupter_stops_a_conversion_from_another_thread(
    sources: Path, tmp_path: Path
) -> None:
    """How a cancel reaches a job in production: its tools are killed and a signal raises.
    Killed under it, ffmpeg may end first (a failure the job runner reads as the stop), or the
    signal's StopRequested may come first; either way within 2 s and with ffmpeg reaped."""
    source = source_copy(sources, "long.flac", tmp_path)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        outcome = pool.apply(cancelled_conversion, (tool("ffmpeg"), source))
    assert outcome["raised"] in ("StopRequested", "DownloadFailed"), outcome
    assert outcome["stopped_after"] is not None and outcome["stopped_after"] < 2.0, outcome
    assert outcome["ffmpeg_left"] == []
    assert not (tmp_path / "converted.opus").exists()


def test_an_exception_from_the_progress_callback_still_reaps_ffmpeg(sources: Path, tmp_path: Path) -> None:
    source = source_copy(sources, "long.flac", tmp_path)
    seen: list[psutil.Process] = []

    def on_sample(sample: Sample) -> None:
        if 0.0 < sample.progress < 100.0:
            seen.extend(ffmpeg_children())
            raise RuntimeError("the link to the gateway broke")

    with pytest.raises(RuntimeError, match="link to the gateway"):
        AudioConverter(tool("ffmpeg"), None).convert(source, "opus", LONG_SECONDS, on_sample, never)
    assert seen and not any(p.is_running() for p in seen)
    assert ffmpeg_children() == []
    assert not (tmp_path / "converted.opus").exists()


def test_a_file_without_audio_fails_with_ffmpegs_reason(sources: Path, tmp_path: Path) -> None:
    source = source_copy(sources, "silent.mp4", tmp_path)
    with pytest.raises(DownloadFailed) as failure:
        AudioConverter(tool("ffmpeg"), tool("ffprobe")).convert(source, "mp3", 2.0, lambda _s: None, never)
    assert (failure.value.code, failure.value.retryable) == ("CONVERT_FAILED", False)
    assert "matches no streams" in failure.value.message
    assert not (tmp_path / "converted.mp3").exists()
    assert ffmpeg_children() == []


def test_a_playlist_saved_as_the_download_cannot_make_ffmpeg_read_other_files(
    sources: Path, tmp_path: Path
) -> None:
    # Another job's file, and a "download" that is really a playlist pointing at it.
    other_job = tmp_path / "other-job"
    other_job.mkdir()
    segment = make(other_job / "secret.ts", "-i", str(sources / "clip.mp4"), "-c", "copy")
    playlist = tmp_path / "media.mp3"
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:5\n#EXTINF:5,\n{segment}\n#EXT-X-ENDLIST\n")
    # The test can fail: with the protocol whitelist alone, ffmpeg follows the playlist.
    unguarded = subprocess.run(
        [tool("ffmpeg"), "-nostdin", "-loglevel", "error", "-y", "-protocol_whitelist", "file",
         "-i", str(playlist), "-map", "0:a:0", "-f", "mp3", str(tmp_path / "leak.mp3")],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert unguarded.returncode == 0 and (tmp_path / "leak.mp3").stat().st_size > 0
    with pytest.raises(DownloadFailed) as failure:
        AudioConverter(tool("ffmpeg"), tool("ffprobe")).convert(playlist, "mp3", 5.0, lambda _s: None, never)
    assert failure.value.code == "CONVERT_FAILED"
    assert "whitelist" in failure.value.message
    assert not (tmp_path / "converted.mp3").exists()


def test_a_source_named_like_an_option_is_read_as_a_file(
    sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(sources / "clip.mp4", tmp_path / "-y.mp4")
    monkeypatch.chdir(tmp_path)
    output = AudioConverter(tool("ffmpeg"), tool("ffprobe")).convert(
        Path("-y.mp4"), "opus", CLIP_SECONDS, lambda _s: None, never
    )
    assert [s["codec_name"] for s in probe(tmp_path / output)["streams"]] == ["opus"]


@pytest.fixture(scope="module")
def clip_server(sources: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaServer]:
    """The suite's media origin, serving the clip as /video.mp4 (no other media made)."""
    folder = tmp_path_factory.mktemp("origin")
    shutil.copy(sources / "clip.mp4", folder / "video.mp4")
    (folder / "hls").mkdir()
    yield from serve_files(MediaFiles(folder))


def test_an_audio_job_downloads_converts_and_keeps_only_the_converted_file(
    clip_server: MediaServer, tmp_path: Path
) -> None:
    engine = YtDlpEngine(tool("ffmpeg"), 1, None, ffprobe_location=tool("ffprobe"))
    spec = JobSpec(url=clip_server.url("/video.mp4"), type="audio", audio_format="opus")
    samples: list[Sample] = []
    downloaded = engine.run(spec, tmp_path, samples.append, never)
    assert downloaded.path == tmp_path / "converted.opus" and downloaded.extension == "opus"
    assert list(tmp_path.iterdir()) == [downloaded.path], "the downloaded source is removed"
    assert [s["codec_name"] for s in probe(downloaded.path)["streams"]] == ["opus"]
    stages = [s.stage for s in samples]
    assert "downloading" in stages and stages[-1] == "postprocessing"
    converting = [s.progress for s in samples if s.stage == "postprocessing"]
    assert converting == sorted(converting) and converting[-1] == 100.0
