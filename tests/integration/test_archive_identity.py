"""The identity a collection's entry is listed with is the one its child reports when it completes,
with real yt-dlp through a real egress guard on the local feeds: otherwise the archive would never
skip anything. A child reads its URL with yt-dlp (Downloaded.archive_id) or, for a plain file,
with aria2, when the worker takes the identity of its URL (url_identity)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from haul.contract.events import JobSpec
from tests.support.egress_targets import ORIGIN_HOST
from tests.support.media_server import VIDEO_PAGE_CLIPS, MediaFiles, MediaServer, serve_files
from worker.collections import CollectionResolver
from worker.egress.policy import EgressPolicy
from worker.egress.proxy import EgressProxy, EgressProxyThread
from worker.engines.ytdlp import YtDlpEngine
from worker.media_identity import url_identity


@pytest.fixture(scope="module")
def origin(media_files: MediaFiles) -> Iterator[MediaServer]:
    yield from serve_files(media_files, host=ORIGIN_HOST)


@pytest.fixture
def guard() -> Iterator[EgressProxyThread]:
    with EgressProxy(EgressPolicy([f"{ORIGIN_HOST}/32"])).run_in_thread() as handle:
        yield handle


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/feeds/podcast.rss", [f"generic guid-{n}" for n in (1, 2, 3)]),
        ("/feeds/videos.html", [f"generic videos-{n}" for n in range(1, VIDEO_PAGE_CLIPS + 1)]),
    ],
)
def test_an_entry_is_listed_with_the_identity_its_child_completes_with(
    origin: MediaServer, guard: EgressProxyThread, tmp_path: Path, path: str, expected: list[str]
) -> None:
    collection = CollectionResolver(guard.proxy.tool_egress("parent")).resolve(origin.url(path), max_items=10)
    assert collection is not None
    assert [e.archive_id for e in collection.entries] == expected
    engine = YtDlpEngine(None, 1, guard.proxy.tool_egress("child"))
    for entry in collection.entries:
        spec = JobSpec(url=entry.url, type="auto")
        downloaded = engine.run(spec, tmp_path / entry.key, lambda _sample: None, lambda: None)
        assert downloaded.path.is_file()
        assert downloaded.archive_id == entry.archive_id, "as yt-dlp read the child"
        assert url_identity(entry.url) == entry.archive_id, "as a child aria2 downloaded reports it"
