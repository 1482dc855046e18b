"""Real downloads through the whole service: REST → jobstore → RQ → worker → gateway → file.

A test that reads only its own job and its own folders shares the module's stack (`shared_haul`);
one that cancels, pauses, kills or restarts a process, counts lines of the worker's log, or needs
settings of its own starts a stack of its own (`haul`)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.integration.haul_stack import Haul
from tests.support.media_server import MEDIA_SECONDS


def test_an_mp4_is_downloaded_with_ytdlp_and_matches_the_source(shared_haul: Haul) -> None:
    haul = shared_haul
    job_id = haul.submit(haul.media.url("/video.mp4"), "video")
    job = haul.wait_for(job_id)
    assert job["status"] == "completed", job
    assert [h["to"] for h in job["history"]] == ["queued", "running", "completed"]
    download = haul.http.get(f"{haul.base_url}/files/{job_id}/download")
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == haul.media.media.sha256["video.mp4"]
    assert job["sha256"] == haul.media.media.sha256["video.mp4"]
    assert (haul.data_dir / job_id / job["filename"]).is_file()
    assert not (haul.tmp_dir / job_id).exists(), "the temporary folder is cleaned up"


def test_a_missing_file_fails_at_once_with_its_http_status(shared_haul: Haul) -> None:
    haul = shared_haul
    job_id = haul.submit(haul.media.url("/status/404"), "video")
    job = haul.wait_for(job_id)
    assert (job["status"], job["errorCode"], job["attempt"]) == ("failed", "HTTP_404", 1), job


def test_cancel_mid_transfer_stops_the_download_and_removes_partial_files(haul: Haul) -> None:
    job_id = haul.submit(haul.media.url("/slow/large.bin?rate=2000000"), "video")
    haul.wait_until(job_id, lambda j: j["status"] == "running" and j["downloadedBytes"] > 0, within=30)
    assert list((haul.tmp_dir / job_id).iterdir()), "partial files exist while downloading"
    cancelled = haul.http.post(f"{haul.base_url}/downloads/{job_id}/cancel")
    assert cancelled.status_code == 200
    for _ in range(50):  # within 2 s (50 x 0.05 s)
        if not (haul.tmp_dir / job_id).exists():
            break
        time.sleep(0.05)
    assert not (haul.tmp_dir / job_id).exists(), "partial files are removed after cancel"
    assert haul.job(job_id)["status"] == "cancelled"


def ffprobe(path: Path) -> dict[str, Any]:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True, check=True, timeout=30,
    )  # fmt: skip
    return dict(json.loads(result.stdout))


def test_hls_becomes_a_valid_mp4_with_both_streams(shared_haul: Haul) -> None:
    haul = shared_haul
    job_id = haul.submit(haul.media.url("/hls/index.m3u8"), "video")
    job = haul.wait_for(job_id)
    assert job["status"] == "completed", job
    probe = ffprobe(haul.data_dir / job_id / job["filename"])
    assert {s["codec_type"] for s in probe["streams"]} == {"video", "audio"}
    assert probe["format"]["format_name"].startswith("mov,mp4")
    assert abs(float(probe["format"]["duration"]) - MEDIA_SECONDS) < 0.5


@pytest.mark.parametrize(("audio_format", "codec"), [("mp3", "mp3"), ("m4a", "aac")])
def test_audio_extraction_gives_the_right_format_and_duration(
    shared_haul: Haul, audio_format: str, codec: str
) -> None:
    haul = shared_haul
    job_id = haul.submit(haul.media.url("/video.mp4"), "audio", audioFormat=audio_format)
    job = haul.wait_for(job_id)
    assert job["status"] == "completed", job
    assert job["filename"].endswith(f".{audio_format}")
    probe = ffprobe(haul.data_dir / job_id / job["filename"])
    assert [s["codec_name"] for s in probe["streams"]] == [codec]
    assert abs(float(probe["format"]["duration"]) - MEDIA_SECONDS) < 0.5


def test_pause_then_resume_continues_from_the_bytes_on_disk(haul: Haul) -> None:
    haul.media.slow_rate = 2 * 1024 * 1024
    since = haul.media.mark()
    job_id = haul.submit(haul.media.url("/slow/medium.bin"), "video")
    haul.wait_until(job_id, lambda j: j["downloadedBytes"] > 3 * 1024 * 1024, within=30)
    assert haul.http.post(f"{haul.base_url}/downloads/{job_id}/pause").status_code == 200
    part = next(iter((haul.tmp_dir / job_id).glob("*.part")), None)
    time.sleep(2.0)  # the worker stops within 2 s and keeps its partial file
    assert part is not None and part.exists(), "the partial file is kept while paused"
    saved = part.stat().st_size
    time.sleep(1.0)
    assert part.stat().st_size == saved, "nothing is written while paused"
    haul.media.slow_rate = 200 * 1024 * 1024
    assert haul.http.post(f"{haul.base_url}/downloads/{job_id}/resume").status_code == 200
    job = haul.wait_for(job_id)
    assert job["status"] == "completed", job
    ranges = [r.range for r in haul.media.requests_for("/slow/medium.bin", since)]
    assert ranges[-1] == f"bytes={saved}-", ranges
    download = haul.http.get(f"{haul.base_url}/files/{job_id}/download")
    assert hashlib.sha256(download.content).hexdigest() == haul.media.media.sha256["medium.bin"]


@pytest.mark.haul_env(HAUL_STALL_TIMEOUT="2", HAUL_DEFAULT_MAX_ATTEMPTS="2")
def test_a_stalled_server_is_retried_then_fails_as_stalled(haul: Haul) -> None:
    job_id = haul.submit(haul.media.url("/stall"), "video")
    job = haul.wait_for(job_id, ("failed",), within=60)
    assert (job["status"], job["errorCode"]) == ("failed", "STALLED"), job
    assert job["attempt"] == 2, "retried once, then out of attempts"
    assert [h["to"] for h in job["history"]] == ["queued", "running", "queued", "running", "failed"]


@pytest.mark.haul_env(HAUL_MAX_FILE_BYTES=str(8 * 1024 * 1024))
def test_the_size_budget_stops_an_endless_body_and_removes_it(haul: Haul) -> None:
    job_id = haul.submit(haul.media.url("/endless"), "video")
    job = haul.wait_for(job_id, within=60)
    assert (job["status"], job["errorCode"], job["attempt"]) == ("failed", "SIZE_LIMIT", 1), job
    assert not (haul.tmp_dir / job_id).exists(), "partial files are removed"


def test_cancel_reaches_a_download_stuck_in_a_silent_read(haul: Haul) -> None:
    job_id = haul.submit(haul.media.url("/stall"), "video")
    haul.wait_until(job_id, lambda j: j["downloadedBytes"] > 0, within=30)
    time.sleep(0.5)  # the server has gone silent; no progress hook runs now
    assert haul.http.post(f"{haul.base_url}/downloads/{job_id}/cancel").status_code == 200
    for _ in range(40):  # within 2 s
        if not (haul.tmp_dir / job_id).exists():
            break
        time.sleep(0.05)
    assert not (haul.tmp_dir / job_id).exists(), "the stuck download was stopped and cleaned up"


@pytest.mark.haul_env(HAUL_HEARTBEAT_TIMEOUT="4")
def test_a_killed_worker_tree_is_requeued_and_finished_by_another_worker(haul: Haul, tmp_path: Path) -> None:
    haul.media.slow_rate = 1024 * 1024
    job_id = haul.submit(haul.media.url("/slow/medium.bin"), "video")
    haul.wait_until(job_id, lambda j: j["downloadedBytes"] > 2 * 1024 * 1024, within=30)
    killed = haul.kill_worker_tree()
    assert killed >= 3, "pool, worker and work horse"
    haul.media.slow_rate = 200 * 1024 * 1024
    haul.start_another_worker(tmp_path / "worker-2.log")
    job = haul.wait_for(job_id, within=90)
    assert job["status"] == "completed", job
    assert [(h["to"], h["actor"]) for h in job["history"]][2] == ("queued", "reaper")
    assert job["attempt"] == 2
    files = list((haul.data_dir / job_id).iterdir())
    assert [f.name for f in files] == [job["filename"]], "exactly one copy of the file"
    assert job["sha256"] == haul.media.media.sha256["medium.bin"]


def test_a_gateway_restart_mid_download_loses_nothing(haul: Haul) -> None:
    haul.media.slow_rate = 1024 * 1024
    since = haul.media.mark()
    job_id = haul.submit(haul.media.url("/slow/medium.bin"), "video")
    haul.wait_until(job_id, lambda j: j["downloadedBytes"] > 1024 * 1024, within=30)
    haul.gateway.kill()  # the worker loses its connection; the download must go on
    time.sleep(1.0)
    haul.media.slow_rate = 4 * 1024 * 1024
    haul.gateway.start()
    job = haul.wait_until(job_id, lambda j: j["status"] == "completed", within=60)
    assert job["status"] == "completed", job
    assert job["attempt"] == 1, "the same attempt finished: nothing was restarted"
    assert job["sha256"] == haul.media.media.sha256["medium.bin"]
    # The worker asks once whether the URL is a collection (worker.expand), then yt-dlp's generic
    # extractor probes it once and transfers it once; a restarted or resumed transfer would show
    # as a fourth request or a Range header.
    requests = haul.media.requests_for("/slow/medium.bin", since)
    assert len(requests) == 3 and all(r.range is None for r in requests), requests


def test_a_completion_while_the_gateway_is_down_is_resent_until_it_is_back(haul: Haul) -> None:
    haul.media.slow_rate = 1024 * 1024
    job_id = haul.submit(haul.media.url("/slow/medium.bin"), "file")
    haul.wait_until(job_id, lambda j: j["downloadedBytes"] > 512 * 1024, within=30)
    haul.gateway.kill()
    haul.media.slow_rate = 64 * 1024 * 1024  # the download ends while nobody can take its outcome
    deadline = time.monotonic() + 30
    while "outcome not acknowledged yet; resending" not in haul.worker.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "outcome not acknowledged yet; resending" in haul.worker.log(), "the worker waits to resend"
    haul.gateway.start()
    job = haul.wait_for(job_id, within=30)
    assert job["status"] == "completed" and job["attempt"] == 1, "the same attempt reported it once back"
    assert job["sha256"] == haul.media.media.sha256["medium.bin"]
    assert [h["to"] for h in job["history"]].count("completed") == 1


def test_a_large_file_job_goes_through_aria2_with_the_right_sha256(haul: Haul) -> None:
    job_id = haul.submit(haul.media.url("/large.bin"), "file")
    job = haul.wait_for(job_id, within=90)
    assert job["status"] == "completed", job
    assert job["sha256"] == haul.media.media.sha256["large.bin"]
    assert job["filename"] == "large.bin"
    assert "engine chosen" in haul.worker.log() and '"engine": "aria2"' in haul.worker.log()


def test_auto_picks_aria2_for_a_plain_file_and_ytdlp_for_a_playlist(haul: Haul) -> None:
    plain = haul.submit(haul.media.url("/medium.bin"), "auto")
    playlist = haul.submit(haul.media.url("/hls/index.m3u8"), "auto")
    for job_id in (plain, playlist):
        assert haul.wait_for(job_id, within=90)["status"] == "completed"
    assert haul.worker.log().count('"engine": "aria2"') == 1
    assert haul.job(plain)["sha256"] == haul.media.media.sha256["medium.bin"]


def test_a_hostile_server_name_lands_safely_inside_the_job_folder(shared_haul: Haul) -> None:
    haul = shared_haul
    job_id = haul.submit(haul.media.url("/hostile-name"), "file")
    job = haul.wait_for(job_id)
    assert job["status"] == "completed", job
    name = job["filename"]
    assert "/" not in name and "\x00" not in name and "\u202e" not in name and not name.startswith(".")
    files = list((haul.data_dir / job_id).iterdir())
    assert [f.name for f in files] == [name]
    assert files[0].resolve().parent == (haul.data_dir / job_id).resolve()


def test_an_idle_worker_pool_shows_its_tools_in_the_gateway_health(haul: Haul) -> None:
    for _ in range(100):
        aria2 = haul.http.get(f"{haul.base_url}/health").json()["checks"]["aria2"]
        if aria2["workers"]:
            break
        time.sleep(0.1)
    assert aria2["ok"] is True and aria2["workers"] == 1, aria2
    tools = aria2["tools"]
    assert tools["ffmpeg"][0].startswith("ok ") and tools["ffmpeg"][0].endswith("(system)"), tools
    assert tools["egress"] == ["proxy + network namespace"], tools


@pytest.mark.haul_env(HAUL_EGRESS_ALLOWED_NETWORKS="")
@pytest.mark.parametrize("job_type", ["video", "file", "auto"])
def test_with_nothing_allowed_no_tool_reaches_a_loopback_address(haul: Haul, job_type: str) -> None:
    since = haul.media.mark()
    job_id = haul.submit(haul.media.url("/video.mp4"), job_type)
    job = haul.wait_for(job_id)
    assert (job["status"], job["errorCode"]) == ("failed", "EGRESS_REFUSED"), job
    assert haul.media.requests_for("/video.mp4", since) == [], "not one request reached the origin"


def test_a_redirect_to_a_forbidden_address_is_refused(shared_haul: Haul) -> None:
    haul = shared_haul
    forbidden = "http://169.254.169.254/latest/meta-data/"
    job_id = haul.submit(haul.media.url(f"/redirect-to?url={forbidden}"), "video")
    job = haul.wait_for(job_id)
    assert (job["status"], job["errorCode"]) == ("failed", "EGRESS_REFUSED"), job


def test_aria2_cannot_be_pointed_at_a_private_address(shared_haul: Haul) -> None:
    haul = shared_haul
    job_id = haul.submit("http://10.255.255.1:8080/secret", "file")
    job = haul.wait_for(job_id)
    assert (job["status"], job["errorCode"]) == ("failed", "EGRESS_REFUSED"), job


def tool_processes(haul: Haul) -> list[str]:
    assert haul.worker.proc is not None
    root = psutil.Process(haul.worker.proc.pid)
    return [p.name() for p in root.children(recursive=True) if p.name() in ("aria2c", "ffmpeg", "ffprobe")]


def test_cancelling_a_file_job_leaves_no_tool_process_and_no_partial_files(haul: Haul) -> None:
    haul.media.slow_rate = 1024 * 1024
    job_id = haul.submit(haul.media.url("/slow/medium.bin"), "file")
    haul.wait_until(job_id, lambda j: j["downloadedBytes"] > 0, within=30)
    assert "aria2c" in tool_processes(haul), "the job's aria2 daemon runs while it downloads"
    assert haul.worker.proc is not None
    pool = psutil.Process(haul.worker.proc.pid)
    aria2c = [p for p in pool.children(recursive=True) if p.name() == "aria2c"]
    # Defence in depth: the tools run in a network namespace of their own (worker.isolation).
    assert os.readlink(f"/proc/{aria2c[0].pid}/ns/net") != os.readlink(f"/proc/{pool.pid}/ns/net")
    assert haul.http.post(f"{haul.base_url}/downloads/{job_id}/cancel").status_code == 200
    for _ in range(40):  # within 2 s
        if not tool_processes(haul) and not (haul.tmp_dir / job_id).exists():
            break
        time.sleep(0.05)
    assert tool_processes(haul) == []
    assert not (haul.tmp_dir / job_id).exists()
