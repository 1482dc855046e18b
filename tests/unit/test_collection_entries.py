"""The pure parts of collections: which key and URL an entry gets, what the URL policy refuses,
and which `items` texts are read."""

from __future__ import annotations

import pytest
from yt_dlp.utils import smuggle_url, unsmuggle_url

from worker.collection_entries import MAX_KEY_LENGTH, NO_URL_REASON, entry_key, entry_url, make_entry, refusal
from worker.collections import CollectionLimits, _Budget, _Cut, _cut_short, _EntryCollector, check_items
from worker.engines.base import DownloadFailed

PAGE = "https://example.com/page"
FEED_ITEM = smuggle_url("https://cdn.example.com/ep1.mp3", {"force_videoid": "guid-1"})


def test_the_key_is_the_media_id_when_yt_dlp_gives_one() -> None:
    assert entry_key({"id": "abc123"}, "https://example.com/watch?v=abc123") == "abc123"


def test_the_key_is_a_feed_items_smuggled_guid() -> None:
    assert entry_key({"_type": "url_transparent"}, FEED_ITEM) == "guid-1"


def test_the_key_is_the_bare_url_without_an_id() -> None:
    url = smuggle_url("https://example.com/a.mp4", {"referer": PAGE})
    assert entry_key({}, url) == "https://example.com/a.mp4"


def test_a_long_key_becomes_a_digest() -> None:
    key = entry_key({}, "https://example.com/" + "a" * 2000)
    assert key.startswith("sha256:") and len(key) <= MAX_KEY_LENGTH
    assert key == entry_key({}, "https://example.com/" + "a" * 2000), "stable"
    assert key != entry_key({}, "https://example.com/" + "a" * 2001)


def test_a_url_entry_keeps_its_smuggled_data() -> None:
    assert entry_url({"_type": "url_transparent", "url": FEED_ITEM}, PAGE) == FEED_ITEM


def test_a_video_on_the_collections_page_gets_its_media_url_with_id_and_referer() -> None:
    info = {
        "id": "page-2",
        "webpage_url": PAGE,
        "formats": [{"url": "https://x/low.mp4"}, {"url": "https://x/hi.mp4"}],
    }
    url, data = unsmuggle_url(entry_url(info, PAGE), {})
    assert (url, data) == ("https://x/hi.mp4", {"force_videoid": "page-2", "referer": PAGE})


def test_a_video_with_a_page_of_its_own_gets_that_page() -> None:
    info = {"id": "v1", "webpage_url": "https://example.com/v1", "formats": [{"url": "https://x/v1.mp4"}]}
    assert entry_url(info, PAGE) == "https://example.com/v1"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https"),
        (smuggle_url("file:///etc/passwd", {"force_videoid": "x"}), "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("http://user:pw@example.com/a.mp3", "credentials"),
        ("http://exa mple.com/a.mp3", "whitespace"),
        ("/relative/a.mp3", "only http and https"),
        ("", NO_URL_REASON),
    ],
)
def test_the_url_policy_refuses_by_text(url: str, reason: str) -> None:
    assert reason in str(refusal(url))


def test_private_addresses_pass_the_text_policy_for_the_guard_to_refuse() -> None:
    assert refusal(smuggle_url("http://10.0.0.1/a.mp3", {"force_videoid": "x"})) is None
    assert refusal("http://127.0.0.1:8080/a.mp3") is None


def test_an_entry_without_any_url_is_refused_and_keyed_by_its_index() -> None:
    entry = make_entry({"_type": "url", "url": None, "playlist_index": 7, "title": "a\x00b"}, PAGE)
    assert (entry.key, entry.index, entry.title, entry.refused) == ("entry-7", 7, "ab", NO_URL_REASON)


@pytest.mark.parametrize("items", ["1", "1-10,15", "2:5", "-3:", "::2", "10-"])
def test_items_in_yt_dlp_syntax_are_read(items: str) -> None:
    assert check_items(items) == items


@pytest.mark.parametrize("items", ["1,,2", "x", "1-2-3", "1::0", "1" * 300])
def test_items_yt_dlp_cannot_read_are_refused(items: str) -> None:
    with pytest.raises(DownloadFailed) as failure:
        check_items(items)
    assert failure.value.code == "ITEMS_INVALID" and not failure.value.retryable


def listing(max_items: int, entries: int) -> _EntryCollector:
    """A collector that has seen `entries` entries of a 100-entry feed, as yt-dlp hands them over."""
    collector = _EntryCollector(_Budget(CollectionLimits(), None), max_items)
    for n in range(1, entries + 1):
        info = {"_type": "url", "url": f"https://example.com/{n}.mp3", "id": f"id-{n}", "playlist_index": n}
        collector.run({**info, "playlist_title": "Feed", "playlist_count": 100, "playlist_webpage_url": PAGE})
    return collector


def test_a_budget_that_runs_out_after_some_entries_keeps_them_truncated() -> None:
    timeout = DownloadFailed("COLLECTION_TIMEOUT", "too slow", retryable=True)
    collection = _cut_short(_Cut(timeout), listing(max_items=10, entries=4))
    assert (collection.title, collection.listed, collection.truncated) == ("Feed", 100, True)
    assert [e.key for e in collection.entries] == ["id-1", "id-2", "id-3", "id-4"]


def test_a_budget_that_runs_out_before_any_entry_fails() -> None:
    timeout = DownloadFailed("COLLECTION_TIMEOUT", "too slow", retryable=True)
    with pytest.raises(DownloadFailed) as failure:
        _cut_short(_Cut(timeout), listing(max_items=10, entries=0))
    assert failure.value is timeout


def test_the_collector_stops_yt_dlp_at_one_entry_past_the_cap() -> None:
    with pytest.raises(_Cut) as cut:
        listing(max_items=3, entries=4)
    assert cut.value.failure is None and cut.value.stop is None


def test_a_source_listing_one_media_twice_gives_one_entry() -> None:
    collector = listing(max_items=10, entries=2)
    collector.run({"_type": "url", "url": "https://example.com/1.mp3", "id": "id-1", "playlist_index": 3})
    assert [e.key for e in collector.entries] == ["id-1", "id-2"] and collector.read == 3
