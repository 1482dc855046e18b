from __future__ import annotations

import pytest

from worker.engines.choice import choose_engine


@pytest.mark.parametrize(
    ("job_type", "path", "content_type", "engine"),
    [
        ("file", "/watch?v=x", "text/html", "aria2"),
        ("video", "/big.zip", "application/zip", "ytdlp"),
        ("audio", "/song.mp3", "audio/mpeg", "ytdlp"),
        ("auto", "/watch", "text/html; charset=utf-8", "ytdlp"),
        ("auto", "/live/index.m3u8", "application/octet-stream", "ytdlp"),
        ("auto", "/stream", "application/vnd.apple.mpegURL", "ytdlp"),
        ("auto", "/manifest.mpd", None, "ytdlp"),
        ("auto", "/file.iso", "application/octet-stream", "aria2"),
        ("auto", "/clip.mp4", "video/mp4", "aria2"),
        ("auto", "/unknown", None, "ytdlp"),
        ("auto", "/unknown", "", "ytdlp"),
    ],
)
def test_the_engine_follows_the_type_and_the_probe(
    job_type: str, path: str, content_type: str | None, engine: str
) -> None:
    assert choose_engine(job_type, path, content_type) == engine
