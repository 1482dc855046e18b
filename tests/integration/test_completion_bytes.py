"""A completed job's byte counts describe the file it delivered, on every engine.

Real downloads (yt-dlp, HLS through ffmpeg, aria2, an ffmpeg audio conversion) through the whole
service. The REST job after completion must show `downloadedBytes == totalBytes == size`, the
size of the file on disk, whatever the tools reported (or had no time to report) on the way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from tests.integration.haul_stack import Haul, run_haul_on_fresh_database
from tests.support.media_server import MediaServer
from tests.support.servers import PostgresServer, RedisServer


@pytest.fixture(scope="module")
def haul(
    pg_server: PostgresServer,
    redis_server: RedisServer,
    media: MediaServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Haul]:
    """One stack for the module: each case is a job of its own."""
    yield from run_haul_on_fresh_database(
        pg_server, redis_server.url(3), media, tmp_path_factory.mktemp("haul")
    )


@pytest.mark.parametrize(
    ("path", "job_type", "options", "source"),
    [
        ("/video.mp4", "video", {}, "video.mp4"),
        ("/hls/index.m3u8", "video", {}, None),
        ("/medium.bin", "file", {}, "medium.bin"),
        ("/video.mp4", "audio", {"audioFormat": "mp3"}, None),
    ],
    ids=["ytdlp-mp4", "hls", "aria2-file", "ffmpeg-audio"],
)
def test_a_completed_job_counts_the_bytes_of_its_file(
    haul: Haul, path: str, job_type: str, options: dict[str, str], source: str | None
) -> None:
    job_id = haul.submit(haul.media.url(path), job_type, **options)
    job = haul.wait_for(job_id, within=90)
    assert job["status"] == "completed", job
    on_disk = haul.data_dir / job_id / job["filename"]
    content = on_disk.read_bytes()
    assert content, "a file was delivered"
    assert (job["size"], job["downloadedBytes"], job["totalBytes"]) == (len(content),) * 3, job
    assert job["progress"] == 100.0
    assert job["sha256"] == hashlib.sha256(content).hexdigest()
    if source is not None:  # no conversion: the file is the origin's bytes
        assert job["sha256"] == haul.media.media.sha256[source]
