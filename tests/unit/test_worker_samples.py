"""Progress parsing for yt-dlp, aria2 and ffmpeg."""

from __future__ import annotations

import math

import pytest

from worker.samples import FfmpegProgress, Sample, from_aria2, from_ytdlp


def test_a_plain_ytdlp_download_reports_bytes_speed_and_eta() -> None:
    sample = from_ytdlp(
        {"status": "downloading", "downloaded_bytes": 250, "total_bytes": 1000, "speed": 50.0, "eta": 15}
    )
    assert sample == Sample("downloading", 25.0, 250, 1000, 50.0, 15.0)


def test_hls_progress_counts_fragments_and_uses_the_byte_estimate() -> None:
    hook = {
        "status": "downloading", "downloaded_bytes": 3_000, "total_bytes_estimate": 12_000.7,
        "fragment_index": 3, "fragment_count": 12, "speed": None, "eta": None,
    }  # fmt: skip
    sample = from_ytdlp(hook)
    assert sample is not None
    assert (sample.progress, sample.total_bytes, sample.speed, sample.eta) == (25.0, 12_000, None, None)


def test_finished_hook_is_100_percent() -> None:
    assert from_ytdlp({"status": "finished", "downloaded_bytes": 10, "total_bytes": 10}) == Sample(
        "downloading", 100.0, 10, 10
    )


@pytest.mark.parametrize(
    "hook",
    [
        {"status": "downloading", "downloaded_bytes": -5, "total_bytes": None, "speed": -1, "eta": math.inf},
        {"status": "downloading", "downloaded_bytes": "junk", "total_bytes": math.nan, "speed": "fast"},
        {"status": "downloading", "downloaded_bytes": 500, "total_bytes": 100},
        {"status": "downloading", "downloaded_bytes": True, "fragment_index": 5, "fragment_count": 0},
        {"status": "downloading", "downloaded_bytes": 10**30, "total_bytes": 10**31},
    ],
)
def test_nonsense_from_ytdlp_becomes_a_valid_sample(hook: dict[str, object]) -> None:
    sample = from_ytdlp(hook)
    assert sample is not None
    assert 0 <= sample.progress <= 100 and sample.downloaded_bytes >= 0
    assert sample.speed is None or sample.speed >= 0
    assert sample.eta is None or math.isfinite(sample.eta)
    assert sample.total_bytes is None or sample.total_bytes >= sample.downloaded_bytes


def test_hooks_without_progress_are_ignored() -> None:
    assert from_ytdlp({"status": "error"}) is None
    assert from_ytdlp({}) is None


def test_aria2_status_strings_become_numbers_with_an_eta() -> None:
    sample = from_aria2({"totalLength": "1000", "completedLength": "400", "downloadSpeed": "200"})
    assert sample == Sample("downloading", 40.0, 400, 1000, 200.0, 3.0)
    unknown = from_aria2({"totalLength": "0", "completedLength": "0", "downloadSpeed": "0"})
    assert (unknown.progress, unknown.total_bytes, unknown.eta) == (0.0, None, None)


def test_ffmpeg_progress_blocks_become_percentages_of_the_duration() -> None:
    parser = FfmpegProgress(duration=10.0)
    lines = ["frame=10", "out_time_us=2500000", "total_size=4096", "speed=2.0x", "progress=continue"]
    samples = [parser.feed(line) for line in lines]
    assert samples[:-1] == [None] * 4
    assert samples[-1] == Sample("postprocessing", 25.0, 4096, None, None, 3.75)
    last = [parser.feed(line) for line in ["out_time_us=10000000", "total_size=9000", "progress=end"]][-1]
    assert last is not None and last.progress == 100.0 and last.eta is None


def test_ffmpeg_without_a_known_duration_reports_no_percentage() -> None:
    parser = FfmpegProgress(duration=None)
    for line in ["out_time_ms=N/A", "speed=N/A", "garbage line", "progress=continue"]:
        sample = parser.feed(line)
    assert sample is not None and sample.progress == 0.0 and sample.eta is None
