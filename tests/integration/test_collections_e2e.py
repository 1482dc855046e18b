"""Collections end to end, with haul's real processes: a worker resolves a feed or a page of
videos, reports it on /worker, the gateway forwards it, jobstore creates the children, and the
worker pool downloads each of them.

The media origin listens on 127.0.0.2, the only network the egress guard lets through, so that
the hostile feed's entries aimed at 127.0.0.1 and `localhost` (a canary listens there) are refused.

The tests that kill a worker or need settings of their own start a stack each (`haul`); the others
share the module's (`shared_haul`) and read only the jobs they submitted. Its settings are the
module's marker: the cap of 25 entries is far above what the other feeds list (at most 8).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.haul_stack import Haul
from tests.support import feeds
from tests.support.egress_targets import ORIGIN_HOST, Canary
from tests.support.media_server import VIDEO_PAGE_CLIPS, MediaFiles, MediaServer, serve_files
from worker.finish import CRASH_AT_ENV

pytestmark = pytest.mark.haul_env(
    HAUL_EGRESS_ALLOWED_NETWORKS=f"{ORIGIN_HOST}/32", HAUL_COLLECTION_MAX_ITEMS="25"
)


@pytest.fixture(scope="module")
def media(media_files: MediaFiles) -> Iterator[MediaServer]:
    yield from serve_files(media_files, host=ORIGIN_HOST)


def children(haul: Haul, parent_id: str, status: str = "") -> list[dict[str, Any]]:
    """Every child of the collection, in entry order, read page by page through REST."""
    found: list[dict[str, Any]] = []
    cursor = ""
    for _ in range(50):
        query = {"parent": parent_id, "limit": 100, **({"cursor": cursor} if cursor else {})}
        if status:
            query["status"] = status
        page = haul.http.get(f"{haul.base_url}/downloads", params=query)
        assert page.status_code == 200, page.text
        found += page.json()["items"]
        cursor = page.json()["nextCursor"] or ""
        if not cursor:
            return found
    raise AssertionError("more pages than any test collection has")


def file_digest(haul: Haul, job: dict[str, Any]) -> str:
    return hashlib.sha256((haul.data_dir / job["id"] / job["filename"]).read_bytes()).hexdigest()


def top_level_ids(haul: Haul) -> list[str]:
    page = haul.http.get(f"{haul.base_url}/downloads", params={"limit": 500})
    return [job["id"] for job in page.json()["items"]]


def test_a_podcast_feed_becomes_one_collection_whose_every_episode_is_downloaded(
    shared_haul: Haul, media: MediaServer
) -> None:
    haul = shared_haul
    # redownload: the hostile feed's good entries are episodes of this one; the archive must not
    # skip them here whichever test of the module ran first.
    parent_id = haul.submit(media.url("/feeds/podcast.rss"), redownload=True)
    parent = haul.wait_for(parent_id, within=120)
    assert parent["status"] == "completed", parent
    summary = parent["collection"]
    assert summary["title"] == "Test podcast"
    assert (summary["total"], summary["completed"], summary["failed"], summary["listed"]) == (3, 3, 0, 3)
    assert summary["truncated"] is False
    kids = children(haul, parent_id)
    assert [(k["entryIndex"], k["parentId"], k["status"]) for k in kids] == [
        (n, parent_id, "completed") for n in (1, 2, 3)
    ]
    for number, kid in enumerate(kids, start=1):
        expected = media.media.sha256[f"audio/episode-{number}.m4a"]
        assert kid["sha256"] == expected and file_digest(haul, kid) == expected, kid
    top_level = top_level_ids(haul)
    assert top_level.count(parent_id) == 1, "the top-level list shows the collection once"
    assert not {kid["id"] for kid in kids} & set(top_level), "and none of its episodes"


def test_a_page_of_several_videos_expands_into_one_child_per_video(
    shared_haul: Haul, media: MediaServer
) -> None:
    haul = shared_haul
    since = media.mark()
    parent_id = haul.submit(media.url("/feeds/videos.html"))
    parent = haul.wait_for(parent_id, within=120)
    assert parent["status"] == "completed", parent
    assert parent["collection"]["total"] == VIDEO_PAGE_CLIPS
    kids = children(haul, parent_id)
    assert [k["status"] for k in kids] == ["completed"] * VIDEO_PAGE_CLIPS
    assert {file_digest(haul, kid) for kid in kids} == {media.media.sha256["video.mp4"]}
    fetched = {
        r.path for r in media.requests_for("/clips/1.mp4", since) + media.requests_for("/clips/2.mp4", since)
    }
    assert fetched == {"/clips/1.mp4", "/clips/2.mp4"}, "each child downloaded its own clip"


def test_a_hostile_feeds_entries_are_refused_one_by_one_while_the_good_ones_complete(
    shared_haul: Haul, media: MediaServer
) -> None:
    haul = shared_haul
    canary = Canary()
    try:
        # redownload: its good entries are the podcast's episodes, which the archive may hold.
        parent_id = haul.submit(media.url(f"/feeds/hostile.rss?port={canary.port}"), redownload=True)
        parent = haul.wait_for(parent_id, within=120)
        kids = {kid["entryIndex"]: kid for kid in children(haul, parent_id)}
        assert canary.accepted == 0, "no entry reached the worker's own machine"
    finally:
        canary.close()
    items = feeds.hostile_items(media.base_url, canary.port)
    assert sorted(kids) == list(range(1, len(items) + 1))
    good = {1: "audio/episode-1.m4a", len(items): "audio/episode-2.m4a"}
    for index, kid in kids.items():
        if index in good:
            assert kid["status"] == "completed" and kid["sha256"] == media.media.sha256[good[index]], kid
        else:
            assert kid["status"] == "failed", kid
            assert kid["errorCode"] in ("ENTRY_REFUSED", "EGRESS_REFUSED", "NAME_NOT_FOUND"), kid
            assert kid["errorMessage"], kid
    by_title = {kid["meta"]["title"] or items[i - 1].title: kid for i, kid in kids.items()}
    for title in ("Local file", "FTP", "Credentials"):  # refused by the URL policy, never queued
        assert by_title[title]["errorCode"] == "ENTRY_REFUSED", by_title[title]
        assert by_title[title]["attempt"] == 0, by_title[title]
    assert parent["status"] == "failed", parent
    assert (parent["collection"]["completed"], parent["collection"]["failed"]) == (2, len(items) - 2)


def test_the_cap_on_a_thousand_entry_feed_is_reported(shared_haul: Haul, media: MediaServer) -> None:
    haul = shared_haul
    parent_id = haul.submit(media.url("/feeds/large.rss"))
    parent = haul.wait_until(parent_id, lambda job: job["collection"] is not None, within=60)
    summary = parent["collection"]
    assert summary is not None, parent
    assert (summary["total"], summary["listed"], summary["truncated"]) == (25, feeds.LARGE_FEED_ENTRIES, True)
    assert haul.http.post(f"{haul.base_url}/downloads/{parent_id}/cancel").status_code == 200
    kids = children(haul, parent_id)
    assert [k["entryIndex"] for k in kids] == list(range(1, 26))
    assert haul.wait_for(parent_id, within=60)["status"] in ("cancelled", "completed", "failed")


def test_a_job_of_type_file_downloads_the_feed_itself(shared_haul: Haul, media: MediaServer) -> None:
    haul = shared_haul
    url = media.url("/feeds/podcast.rss")
    job_id = haul.submit(url, "file")
    job = haul.wait_for(job_id, within=60)
    assert job["status"] == "completed", job
    assert job["collection"] is None
    assert job["sha256"] == hashlib.sha256(requests.get(url, timeout=10).content).hexdigest()
    assert children(haul, job_id) == []


def wait_for_children(haul: Haul, parent_id: str, count: int, within: float = 120.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    while True:
        kids = children(haul, parent_id)
        done = [k for k in kids if k["status"] in ("completed", "failed", "cancelled")]
        if (len(kids) >= count and len(done) == len(kids)) or time.monotonic() > deadline:
            return kids
        time.sleep(0.2)


def assert_one_child_per_entry(kids: list[dict[str, Any]], count: int) -> None:
    assert [k["entryIndex"] for k in kids] == list(range(1, count + 1)), kids
    assert [k["status"] for k in kids] == ["completed"] * count, kids


@pytest.mark.haul_env(
    HAUL_EGRESS_ALLOWED_NETWORKS=f"{ORIGIN_HOST}/32", HAUL_HEARTBEAT_TIMEOUT="5", HAUL_REAP_INTERVAL="1"
)
def test_a_worker_killed_while_it_lists_a_feed_leaves_no_duplicate_children(
    haul: Haul, media: MediaServer, tmp_path: Path
) -> None:
    # At 20,000 bytes/s, about 9 s to serve: long enough to kill the worker in the middle of it.
    # The next attempt's listing reads it at the origin's usual rate (`slow_rate`, read as each
    # request starts), in a fraction of a second.
    since, usual_rate = media.mark(), media.slow_rate
    media.slow_rate = 20000
    try:
        parent_id = haul.submit(media.url("/feeds/slow.rss"), maxItems=3)
        deadline = time.monotonic() + 30
        while not media.requests_for("/feeds/slow.rss", since) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)  # well into the feed
    finally:
        media.slow_rate = usual_rate
    assert haul.job(parent_id)["collection"] is None, "still listing when killed"
    haul.kill_worker_tree()
    haul.start_another_worker(tmp_path / "worker-2.log")
    parent = haul.wait_until(parent_id, lambda job: job["collection"] is not None, within=90)
    assert parent["attempt"] >= 2, parent
    kids = wait_for_children(haul, parent_id, 3)
    assert_one_child_per_entry(kids, 3)
    assert haul.wait_for(parent_id, within=60)["status"] == "completed"


@pytest.mark.haul_env(
    HAUL_EGRESS_ALLOWED_NETWORKS=f"{ORIGIN_HOST}/32", HAUL_HEARTBEAT_TIMEOUT="3", **{CRASH_AT_ENV: "reported"}
)
def test_a_worker_killed_right_after_its_report_leaves_no_duplicate_children(
    haul: Haul, media: MediaServer, tmp_path: Path
) -> None:
    # The work horse that listed the feed is SIGKILLed once the gateway acknowledged its report;
    # the pool's next work horses take the children.
    parent_id = haul.submit(media.url("/feeds/podcast.rss"))
    parent = haul.wait_until(parent_id, lambda job: job["collection"] is not None, within=60)
    assert parent["collection"]["total"] == feeds.EPISODES
    kids = wait_for_children(haul, parent_id, feeds.EPISODES)
    assert_one_child_per_entry(kids, feeds.EPISODES)
    parent = haul.wait_for(parent_id, within=60)
    assert (parent["status"], parent["attempt"], parent["collection"]["total"]) == ("completed", 1, 3)
    log = (tmp_path / "worker.log").read_text()
    assert "job finished" in log and "collection reported" not in log, "killed before its log line"


@pytest.mark.haul_env(HAUL_EGRESS_ALLOWED_NETWORKS=f"{ORIGIN_HOST}/32", HAUL_EGRESS_NAMESPACE="off")
def test_without_a_network_namespace_the_work_horse_lists_the_feed_and_a_cancel_stops_it(
    haul: Haul, media: MediaServer, tmp_path: Path
) -> None:
    parent_id = haul.submit(media.url("/feeds/podcast.rss"))
    parent = haul.wait_for(parent_id, within=120)
    assert (parent["status"], parent["collection"]["completed"]) == ("completed", feeds.EPISODES), parent

    sent_before = media.served["/feeds/slow.rss"]
    whole = len(requests.get(media.url("/feeds/slow.rss?rate=100000000"), timeout=10).content)
    since = media.mark()
    slow_id = haul.submit(media.url("/feeds/slow.rss?rate=20000"))  # about 9 s to send
    deadline = time.monotonic() + 30
    while not media.requests_for("/feeds/slow.rss", since) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert haul.http.post(f"{haul.base_url}/downloads/{slow_id}/cancel").status_code == 200
    # A listing that went on would read the feed to its end before it could report; a stopped one
    # lets go of it, and the origin sends nothing more (1 s without a byte; it sends every 0.05 s).
    sent, quiet_since, deadline = media.served["/feeds/slow.rss"], time.monotonic(), time.monotonic() + 15
    while time.monotonic() - quiet_since < 1.0:
        assert time.monotonic() < deadline, "the origin never stopped sending the feed"
        time.sleep(0.05)
        if media.served["/feeds/slow.rss"] != sent:
            sent, quiet_since = media.served["/feeds/slow.rss"], time.monotonic()
    listed = sent - sent_before - whole  # the quick read above is counted in full by now
    assert listed < whole, "the cancelled listing stopped reading before the feed's end"
    deadline = time.monotonic() + 10
    while "job stopped" not in (tmp_path / "worker.log").read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    cancelled = haul.job(slow_id)
    assert (cancelled["status"], cancelled["collection"]) == ("cancelled", None), cancelled
    assert children(haul, slow_id) == []
    log = (tmp_path / "worker.log").read_text()
    assert log.count("collection reported") == 1, "the cancelled listing stopped before any report"
    assert "job stopped" in log


def test_a_malformed_feed_fails_with_a_clear_reason_and_is_not_retried(
    shared_haul: Haul, media: MediaServer
) -> None:
    haul = shared_haul
    job_id = haul.submit(media.url("/feeds/malformed.rss"))
    job = haul.wait_for(job_id, within=60)
    assert (job["status"], job["errorCode"], job["attempt"]) == ("failed", "COLLECTION_UNREADABLE", 1), job
    assert "type file" in job["errorMessage"] and "Traceback" not in job["errorMessage"], job
