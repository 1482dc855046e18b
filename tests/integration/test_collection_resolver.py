"""The worker's collection resolver with real yt-dlp through a real egress guard.

The media origin listens on 127.0.0.2, the only network the guard allows; a canary listens on
127.0.0.1 and [::1], where the hostile feed aims its entries, and must accept nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yt_dlp

from haul.contract.events import JobSpec
from tests.support import feeds
from tests.support.egress_targets import ORIGIN_HOST, Canary
from tests.support.media_server import MediaFiles, MediaServer, serve_files
from worker.collections import CollectionLimits, CollectionResolver
from worker.egress.policy import EgressPolicy
from worker.egress.proxy import EgressProxy, EgressProxyThread
from worker.engines.base import DownloadFailed, StopRequested
from worker.engines.ytdlp import YtDlpEngine


def never() -> str | None:
    return None


@pytest.fixture(scope="module")
def origin(media_files: MediaFiles) -> Iterator[MediaServer]:
    yield from serve_files(media_files, host=ORIGIN_HOST)


@pytest.fixture
def guard() -> Iterator[EgressProxyThread]:
    with EgressProxy(EgressPolicy([f"{ORIGIN_HOST}/32"])).run_in_thread() as handle:
        yield handle


@pytest.fixture
def resolver(guard: EgressProxyThread) -> CollectionResolver:
    return CollectionResolver(guard.proxy.tool_egress("job-1"))


@pytest.fixture
def canary() -> Iterator[Canary]:
    canary = Canary()
    yield canary
    canary.close()


def download(guard: EgressProxyThread, url: str, work_dir: Path) -> Path:
    """An entry's URL downloaded as a child job would download it: the normal yt-dlp engine."""
    engine = YtDlpEngine(None, 1, guard.proxy.tool_egress("child"))
    return engine.run(JobSpec(url=url, type="auto"), work_dir, lambda _sample: None, never).path


def media_id(guard: EgressProxyThread, url: str) -> str:
    options = guard.proxy.tool_egress("child").ytdlp_options({"quiet": True, "cachedir": False})
    with yt_dlp.YoutubeDL(options) as ydl:
        return str(ydl.extract_info(url, download=False)["id"])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_podcast_feed_lists_its_episodes_in_order_with_titles(
    origin: MediaServer, guard: EgressProxyThread, resolver: CollectionResolver
) -> None:
    collection = resolver.resolve(origin.url("/feeds/podcast.rss"), max_items=10)
    assert collection is not None
    assert (collection.title, collection.listed, collection.truncated) == ("Test podcast", 3, False)
    assert [(e.key, e.title, e.index, e.refused) for e in collection.entries] == [
        (f"guid-{n}", f"Episode {n}", n, None) for n in (1, 2, 3)
    ]
    assert all("#__youtubedl_smuggle=" in e.url for e in collection.entries)
    assert guard.proxy.stats.allowed >= 1, "the feed was read through the job's guard"


def test_resolution_goes_through_the_egress_guard(origin: MediaServer) -> None:
    with EgressProxy(EgressPolicy([])).run_in_thread() as closed:
        since = origin.mark()
        with pytest.raises(DownloadFailed) as failure:
            CollectionResolver(closed.proxy.tool_egress("job-1")).resolve(
                origin.url("/feeds/podcast.rss"), 10
            )
        assert failure.value.code == "HTTP_403" and closed.proxy.stats.refused >= 1
    assert origin.requests_for("/feeds/podcast.rss", since) == [], "nothing reached the origin"


def test_an_entry_url_given_back_downloads_that_entry_with_its_id(
    origin: MediaServer, guard: EgressProxyThread, resolver: CollectionResolver, tmp_path: Path
) -> None:
    collection = resolver.resolve(origin.url("/feeds/podcast.rss"), max_items=10)
    assert collection is not None
    second = collection.entries[1]
    path = download(guard, second.url, tmp_path)
    assert sha256(path) == origin.media.sha256["audio/episode-2.m4a"]
    assert sha256(path) != origin.media.sha256["audio/episode-1.m4a"]
    # The smuggled guid survives: the child's media id is the entry's key, not the file's name.
    assert media_id(guard, second.url) == second.key == "guid-2"


def test_a_page_of_several_videos_lists_each_and_each_downloads_its_own_clip(
    origin: MediaServer, guard: EgressProxyThread, resolver: CollectionResolver, tmp_path: Path
) -> None:
    collection = resolver.resolve(origin.url("/feeds/videos.html"), max_items=10)
    assert collection is not None and collection.title == "Several videos"
    assert [(e.key, e.index, e.refused) for e in collection.entries] == [
        (f"videos-{n}", n, None) for n in (1, 2, 3)
    ]
    since = origin.mark()
    path = download(guard, collection.entries[1].url, tmp_path)
    assert sha256(path) == origin.media.sha256["video.mp4"]
    fetched = {r.path for r in origin.requests[since:] if r.path.startswith("/clips/")}
    assert fetched == {"/clips/2.mp4"}
    assert media_id(guard, collection.entries[1].url) == "videos-2"
    capped = resolver.resolve(origin.url("/feeds/videos.html"), max_items=2)
    assert capped is not None and (capped.listed, capped.truncated) == (3, True)
    assert [e.key for e in capped.entries] == ["videos-1", "videos-2"]


def test_items_choose_entries(origin: MediaServer, resolver: CollectionResolver) -> None:
    chosen = resolver.resolve(origin.url("/feeds/podcast.rss"), max_items=10, items="2-3")
    assert chosen is not None
    assert [(e.key, e.index) for e in chosen.entries] == [("guid-2", 2), ("guid-3", 3)]
    assert (chosen.listed, chosen.truncated) == (3, False)
    picked = resolver.resolve(origin.url("/feeds/large.rss"), max_items=10, items="3,1,998-1000")
    assert picked is not None
    assert [e.index for e in picked.entries] == [3, 1, 998, 999, 1000]


def test_invalid_items_are_refused_before_any_request(
    origin: MediaServer, resolver: CollectionResolver
) -> None:
    since = origin.mark()
    with pytest.raises(DownloadFailed) as failure:
        resolver.resolve(origin.url("/feeds/podcast.rss"), max_items=10, items="1-2,,x")
    assert failure.value.code == "ITEMS_INVALID" and not failure.value.retryable
    assert origin.requests[since:] == []


def test_max_items_truncates_and_says_how_many_were_listed(
    origin: MediaServer, resolver: CollectionResolver
) -> None:
    collection = resolver.resolve(origin.url("/feeds/large.rss"), max_items=10)
    assert collection is not None
    assert (collection.listed, collection.truncated) == (feeds.LARGE_FEED_ENTRIES, True)
    assert [e.index for e in collection.entries] == list(range(1, 11))
    # Open-ended items are capped too.
    open_ended = resolver.resolve(origin.url("/feeds/large.rss"), max_items=5, items="10-")
    assert open_ended is not None and open_ended.truncated
    assert [e.index for e in open_ended.entries] == [10, 11, 12, 13, 14]


def test_a_feed_of_a_thousand_entries_resolves_within_its_bounds(
    origin: MediaServer, resolver: CollectionResolver
) -> None:
    started = time.monotonic()
    collection = resolver.resolve(origin.url("/feeds/large.rss"), max_items=feeds.LARGE_FEED_ENTRIES)
    elapsed = time.monotonic() - started
    print(f"\n1,000-entry feed resolved in {elapsed:.2f} s")
    assert collection is not None and not collection.truncated
    assert len(collection.entries) == collection.listed == feeds.LARGE_FEED_ENTRIES
    assert len({e.key for e in collection.entries}) == feeds.LARGE_FEED_ENTRIES
    assert [e.index for e in collection.entries] == list(range(1, feeds.LARGE_FEED_ENTRIES + 1))
    assert elapsed < 15, f"resolving 1,000 entries took {elapsed:.1f} s"


def test_budgets_bound_the_resolution(origin: MediaServer, guard: EgressProxyThread) -> None:
    egress, url = guard.proxy.tool_egress("job-1"), origin.url("/feeds/large.rss")
    cases = [
        (CollectionLimits(max_response_bytes=4096), "COLLECTION_TOO_LARGE", False),
        (CollectionLimits(max_requests=0), "COLLECTION_TOO_LARGE", False),
        (CollectionLimits(seconds=0), "COLLECTION_TIMEOUT", True),
    ]
    for limits, code, retryable in cases:
        with pytest.raises(DownloadFailed) as failure:
            CollectionResolver(egress, limits).resolve(url, max_items=10)
        assert (failure.value.code, failure.value.retryable) == (code, retryable), limits


def test_the_deadline_cuts_a_feed_that_trickles_in(origin: MediaServer, guard: EgressProxyThread) -> None:
    resolver = CollectionResolver(guard.proxy.tool_egress("job-1"), CollectionLimits(seconds=1.0))
    started = time.monotonic()
    with pytest.raises(DownloadFailed) as failure:
        resolver.resolve(origin.url("/feeds/slow.rss?rate=32768"), max_items=10)  # about 8 s to send
    elapsed = time.monotonic() - started
    assert (failure.value.code, failure.value.retryable) == ("COLLECTION_TIMEOUT", True)
    assert elapsed < 3, f"a 1 s deadline took {elapsed:.1f} s"


def test_a_stop_request_stops_the_listing(origin: MediaServer, resolver: CollectionResolver) -> None:
    with pytest.raises(StopRequested) as stop:
        resolver.resolve(origin.url("/feeds/large.rss"), max_items=10, should_stop=lambda: "cancel")
    assert stop.value.action == "cancel"


def test_a_malformed_feed_fails_with_a_clear_error(origin: MediaServer, resolver: CollectionResolver) -> None:
    with pytest.raises(DownloadFailed) as failure:
        resolver.resolve(origin.url("/feeds/malformed.rss"), max_items=10)
    assert failure.value.code == "COLLECTION_UNREADABLE" and not failure.value.retryable
    assert "not well-formed" in failure.value.message


def test_a_growing_feed_lists_its_new_item_and_keeps_the_old_keys(
    origin: MediaServer, resolver: CollectionResolver
) -> None:
    before = resolver.resolve(origin.url("/feeds/growing.rss"), max_items=10)
    added = origin.add_feed_item()
    after = resolver.resolve(origin.url("/feeds/growing.rss"), max_items=10)
    assert before is not None and after is not None
    assert [e.key for e in after.entries] == [*(e.key for e in before.entries), added.guid]
    assert after.entries[-1].title == added.title


def test_a_single_file_is_not_a_collection(origin: MediaServer, resolver: CollectionResolver) -> None:
    assert resolver.resolve(origin.url("/video.mp4"), max_items=10) is None
    assert resolver.resolve(origin.url("/poster?src=/thumb.jpg"), max_items=10) is None


def test_hostile_entries_are_refused_one_by_one_while_the_others_download(
    origin: MediaServer,
    guard: EgressProxyThread,
    resolver: CollectionResolver,
    canary: Canary,
    tmp_path: Path,
) -> None:
    collection = resolver.resolve(origin.url(f"/feeds/hostile.rss?port={canary.port}"), max_items=20)
    assert collection is not None
    entries = {e.key: e for e in collection.entries}
    assert [e.key for e in collection.entries] == [i.guid for i in feeds.hostile_items("", canary.port)]
    # What the URL policy refuses by its text, each with its reason.
    assert "only http and https" in str(entries["file"].refused)
    assert "only http and https" in str(entries["ftp"].refused)
    assert "credentials" in str(entries["credentials"].refused)
    # Addresses are the guard's business: these pass the text policy, and their download fails.
    for key in ("private", "loopback", "inside-name"):
        assert entries[key].refused is None
        with pytest.raises(DownloadFailed):
            download(guard, entries[key].url, tmp_path / key)
    assert guard.proxy.stats.refused >= 3
    # The good entries around them download their own episodes.
    for key, episode in (("good-1", 1), ("good-2", 2)):
        assert entries[key].refused is None
        path = download(guard, entries[key].url, tmp_path / key)
        assert sha256(path) == origin.media.sha256[f"audio/episode-{episode}.m4a"]
    assert canary.wait_for_any(0.5) == 0, "an entry reached the worker's own machine"
