"""Real downloads through the whole service: REST → jobstore → RQ → worker → gateway → file."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.haul_stack import Haul, run_haul
from tests.support.media_server import MediaServer, serve
from tests.support.servers import RedisServer


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaServer]:
    yield from serve(tmp_path_factory.mktemp("media"))


@pytest.fixture
def haul(pg_url: str, redis_server: RedisServer, media: MediaServer, tmp_path: Path) -> Iterator[Haul]:
    yield from run_haul(pg_url, redis_server.url(2), media, tmp_path)


def test_an_mp4_is_downloaded_with_ytdlp_and_matches_the_source(haul: Haul) -> None:
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


def test_a_missing_file_fails_at_once_with_its_http_status(haul: Haul) -> None:
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
