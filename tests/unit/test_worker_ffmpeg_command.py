"""The ffmpeg command line of audio conversion, its progress reading, and the audio engine's set-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from haul.contract.events import JobSpec
from worker.egress.tools import FFMPEG_SOURCE_FORMATS, ToolEgress
from worker.engines.base import DownloadFailed
from worker.engines.ffmpeg import TARGETS, ProgressReader, convert_command
from worker.engines.ytdlp import YtDlpEngine
from worker.samples import Sample

NETWORK_PROTOCOLS = {"http", "https", "tcp", "tls", "udp", "rtp", "rtmp", "crypto", "httpproxy", "data"}
# Demuxers that open further files or URLs named inside the one they read.
NESTING_DEMUXERS = {"hls", "applehttp", "concat", "dash", "image2", "tee", "subfile", "sdp", "rtsp"}


def command_for(audio_format: str, copy: bool = False, source: str = "/work/job/media.webm") -> list[str]:
    return convert_command(
        "ffmpeg", Path(source), Path("/work/job/out.x"), TARGETS[audio_format], copy, ToolEgress()
    )


def value_after(command: list[str], option: str) -> str:
    return command[command.index(option) + 1]


@pytest.mark.parametrize("audio_format", sorted(TARGETS))
def test_ffmpeg_may_read_only_local_files_in_single_file_containers(audio_format: str) -> None:
    command = command_for(audio_format)
    assert value_after(command, "-protocol_whitelist") == "file"
    demuxers = set(value_after(command, "-format_whitelist").split(","))
    assert demuxers == set(FFMPEG_SOURCE_FORMATS.split(","))
    assert not demuxers & NESTING_DEMUXERS
    assert not set(" ".join(command).replace(",", " ").split()) & NETWORK_PROTOCOLS
    # Input options bind to the next -i only: both whitelists must come before it.
    assert command.index("-protocol_whitelist") < command.index("-i")
    assert command.index("-format_whitelist") < command.index("-i")
    assert command.count("-i") == 1


def test_the_input_and_output_paths_are_absolute_so_no_name_becomes_an_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    command = convert_command("ffmpeg", Path("-y.m4a"), Path("-f.mp3"), TARGETS["mp3"], False, ToolEgress())
    assert value_after(command, "-i") == str(tmp_path / "-y.m4a")
    assert command[-1] == str(tmp_path / "-f.mp3")


def test_ffmpeg_runs_quietly_reports_progress_on_stdout_and_takes_the_first_audio_stream() -> None:
    command = command_for("mp3")
    assert command[:6] == ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    assert value_after(command, "-progress") == "pipe:1"
    assert "-nostats" in command
    assert value_after(command, "-map") == "0:a:0"
    assert "-vn" in command


@pytest.mark.parametrize(
    ("audio_format", "encoder", "muxer", "extension"),
    [("mp3", "libmp3lame", "mp3", "mp3"), ("m4a", "aac", "ipod", "m4a"), ("opus", "libopus", "opus", "opus")],
)
def test_each_format_has_its_encoder_and_container(
    audio_format: str, encoder: str, muxer: str, extension: str
) -> None:
    command = command_for(audio_format)
    assert value_after(command, "-c:a") == encoder
    assert value_after(command, "-f") == muxer
    assert TARGETS[audio_format].extension == extension
    if audio_format == "mp3":
        assert value_after(command, "-q:a") == "2"
    else:
        assert value_after(command, "-b:a").endswith("k")


@pytest.mark.parametrize("audio_format", sorted(TARGETS))
def test_a_source_in_the_target_codec_is_copied_into_the_target_container(audio_format: str) -> None:
    command = command_for(audio_format, copy=True)
    assert value_after(command, "-c:a") == "copy"
    assert command.count("-c:a") == 1 and "-b:a" not in command and "-q:a" not in command
    assert value_after(command, "-f") == TARGETS[audio_format].muxer


def block(out_time_us: str, state: str = "continue") -> bytes:
    return f"out_time_us={out_time_us}\ntotal_size=100\nspeed=2x\nprogress={state}\n".encode()


def test_progress_split_across_reads_becomes_percentages_that_only_rise() -> None:
    reader = ProgressReader(duration=10.0)
    stream = block("2000000") + block("N/A") + block("5000000") + block("10000000", "end")
    samples: list[Sample] = []
    for start in range(0, len(stream), 7):  # the pipe hands over arbitrary pieces
        samples.extend(reader.feed(stream[start : start + 7]))
    assert [s.progress for s in samples] == [20.0, 20.0, 50.0, 100.0]
    assert {s.stage for s in samples} == {"postprocessing"}


def test_a_partial_line_waits_for_its_end() -> None:
    reader = ProgressReader(duration=4.0)
    assert reader.feed(b"out_time_us=1000000\nprogre") == []
    assert [s.progress for s in reader.feed(b"ss=continue\n")] == [25.0]


def test_only_ffmpegs_last_report_marks_the_conversion_finished() -> None:
    reader = ProgressReader(duration=10.0)
    reader.feed(block("10000000"))
    assert not reader.finished, "a full percentage is not the end: a killed ffmpeg writes no last report"
    reader.feed(block("10000000", "end"))
    assert reader.finished


def test_an_audio_job_without_ffmpeg_fails_before_downloading(tmp_path: Path) -> None:
    engine = YtDlpEngine(None, 1)
    # 192.0.2.1 (TEST-NET-1) never answers: reaching the network would hang, not fail.
    spec = JobSpec(url="http://192.0.2.1/song", type="audio", audio_format="mp3")
    with pytest.raises(DownloadFailed) as failure:
        engine.run(spec, tmp_path, lambda _sample: None, lambda: None)
    assert (failure.value.code, failure.value.retryable) == ("FFMPEG_MISSING", False)
    assert list(tmp_path.iterdir()) == []


def test_audio_jobs_give_ytdlp_no_postprocessor_and_ask_for_the_best_audio(tmp_path: Path) -> None:
    engine = YtDlpEngine("/usr/bin/ffmpeg", 1)
    options = engine.options(
        JobSpec(url="http://example.com/a", type="audio", audio_format="opus"), tmp_path, {}
    )
    assert not options.get("postprocessors")
    assert options["format"] == "bestaudio/best"
