"""The download archive with haul's real processes: a podcast feed submitted a second time
downloads nothing, every entry skipped, until an archive entry is deleted or `redownload` is set.

The media origin listens on 127.0.0.2, the only network the egress guard lets through.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.haul_stack import Haul
from tests.support import feeds
from tests.support.egress_targets import ORIGIN_HOST
from tests.support.media_server import MediaFiles, MediaServer, serve_files

EPISODES = [f"/audio/episode-{n}.m4a" for n in range(1, feeds.EPISODES + 1)]


@pytest.fixture(scope="module")
def media(media_files: MediaFiles) -> Iterator[MediaServer]:
    yield from serve_files(media_files, host=ORIGIN_HOST)


def children(haul: Haul, parent_id: str) -> list[dict[str, Any]]:
    page = haul.http.get(f"{haul.base_url}/downloads", params={"parent": parent_id, "limit": 500})
    assert page.status_code == 200, page.text
    return list(page.json()["items"])


def archive(haul: Haul) -> list[dict[str, Any]]:
    page = haul.http.get(f"{haul.base_url}/archive", params={"limit": 500})
    assert page.status_code == 200, page.text
    return list(page.json()["items"])


def episodes_fetched(media: MediaServer, since: int) -> int:
    return sum(len(media.requests_for(path, since)) for path in EPISODES)


def collection_of(haul: Haul, feed: str, **options: Any) -> dict[str, Any]:
    job = haul.wait_for(haul.submit(feed, **options), within=120)
    assert job["status"] == "completed", job
    return job


@pytest.mark.haul_env(HAUL_EGRESS_ALLOWED_NETWORKS=f"{ORIGIN_HOST}/32")
def test_a_feed_submitted_again_downloads_nothing_until_the_archive_forgets(
    haul: Haul, media: MediaServer
) -> None:
    feed = media.url("/feeds/podcast.rss")
    first = collection_of(haul, feed)
    assert (first["collection"]["completed"], first["collection"]["skipped"]) == (3, 0)
    kids = children(haul, first["id"])
    archived = {entry["archiveId"]: entry for entry in archive(haul)}
    assert set(archived) == {f"generic guid-{n}" for n in (1, 2, 3)}, archived
    assert {archived[f"generic guid-{k['entryIndex']}"]["jobId"] for k in kids} == {k["id"] for k in kids}

    mark = media.mark()
    again = collection_of(haul, feed)
    summary = again["collection"]
    assert (summary["total"], summary["skipped"], summary["listed"]) == (0, 3, 3), summary
    assert children(haul, again["id"]) == []
    assert episodes_fetched(media, mark) == 0, "nothing was downloaded"
    assert not (haul.data_dir / again["id"]).exists()

    forgotten = archived["generic guid-2"]
    assert haul.http.delete(f"{haul.base_url}/archive/{forgotten['id']}").status_code == 204
    mark = media.mark()
    third = collection_of(haul, feed)
    assert (third["collection"]["completed"], third["collection"]["skipped"]) == (1, 2)
    assert [k["entryIndex"] for k in children(haul, third["id"])] == [2]
    assert episodes_fetched(media, mark) >= 1
    assert "generic guid-2" in {entry["archiveId"] for entry in archive(haul)}

    everything = collection_of(haul, feed, redownload=True)
    assert (everything["collection"]["completed"], everything["collection"]["skipped"]) == (3, 0)
    assert len(archive(haul)) == 3, "the archive holds each media once"
