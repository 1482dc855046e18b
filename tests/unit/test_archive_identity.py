"""The media identity rule (worker.media_identity) on info dicts shaped as yt-dlp gives them, and
jobstore's check of an identity's form (jobstore.domain.archive). No network: yt-dlp's extractors
only match URLs here."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from yt_dlp import YoutubeDL
from yt_dlp.utils import smuggle_url

from jobstore.domain.archive import ArchiveEntry, checked_archive_id
from jobstore.domain.errors import InvalidInput
from worker.collection_entries import make_entry
from worker.media_identity import (
    MAX_IDENTITY,
    download_identity,
    entry_identity,
    split_identity,
    url_identity,
)

PAGE = "http://media.example/feeds/videos.html"
WATCH = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


def yt_dlp_archive_id(info: dict[str, object]) -> str | None:
    """What yt-dlp itself writes to a download archive for this info dict."""
    with YoutubeDL({"quiet": True}) as ydl:
        return ydl._make_archive_id(info)  # type: ignore[no-any-return]


def test_a_listed_video_of_a_site_is_its_extractor_and_id_as_yt_dlp_archives_it() -> None:
    info = {"_type": "url", "ie_key": "Youtube", "id": "dQw4w9WgXcQ", "url": WATCH}
    assert entry_identity(info, WATCH) == "youtube dQw4w9WgXcQ" == yt_dlp_archive_id(info)
    completed = {"extractor_key": "Youtube", "id": "dQw4w9WgXcQ"}
    assert download_identity(completed, WATCH) == "youtube dQw4w9WgXcQ" == yt_dlp_archive_id(completed)


def test_a_feed_item_is_the_generic_extractor_and_the_guid_smuggled_in_its_url() -> None:
    url = smuggle_url("http://media.example/audio/episode-1.m4a", {"force_videoid": "guid-1"})
    # As flat extraction lists it: no id, the feed's extractor as extractor_key, no ie_key.
    listed = {"_type": "url_transparent", "url": url, "extractor_key": "Generic", "id": None}
    assert yt_dlp_archive_id(listed) is None, "yt-dlp's own rule finds no identity here"
    assert entry_identity(listed, url) == "generic guid-1"
    # Its child, read by yt-dlp (the generic extractor reports the guid as the id) or by aria2.
    assert download_identity({"extractor_key": "Generic", "id": "guid-1"}, url) == "generic guid-1"
    assert url_identity(url) == "generic guid-1"


def test_a_video_of_a_page_of_several_is_read_as_its_child_reads_it() -> None:
    listed = {"id": "videos-2", "extractor_key": "HTML5MediaEmbed", "webpage_url": PAGE, "url": None}
    entry = make_entry({**listed, "playlist_index": 2, "url": "http://media.example/clips/2.mp4"}, PAGE)
    assert yt_dlp_archive_id(listed) == "html5mediaembed videos-2", "the extractor that listed it"
    assert entry.archive_id == "generic videos-2", "the extractor that downloads it"
    assert download_identity({"extractor_key": "Generic", "id": "videos-2"}, entry.url) == entry.archive_id


def test_an_entry_downloaded_from_its_own_page_keeps_the_extractor_that_read_it() -> None:
    info = {"id": "123456", "extractor_key": "Vimeo", "webpage_url": "https://vimeo.com/123456"}
    assert entry_identity(info, "https://vimeo.com/123456") == "vimeo 123456"


def test_a_url_without_a_media_id_is_its_own_identity_without_the_smuggled_part() -> None:
    url = "http://files.example/big/disk.iso"
    assert url_identity(url) == f"url {url}"
    assert download_identity({"extractor_key": "Generic", "id": "disk"}, url) == f"url {url}"
    smuggled = smuggle_url(url, {"referer": PAGE})
    assert url_identity(smuggled) == f"url {url}"
    assert download_identity({}, url) == f"url {url}"


def test_urls_of_one_folder_are_matched_each_to_its_own_extractor() -> None:
    assert url_identity("https://vimeo.com/123456") == "vimeo 123456"
    assert url_identity("https://vimeo.com/user123") == "vimeouser user123"
    assert url_identity("https://vimeo.com/654321") == "vimeo 654321"


def test_an_identity_too_long_keeps_its_extractor_and_hashes_the_rest() -> None:
    url = "http://files.example/" + "a" * 2000
    identity = url_identity(url)
    assert identity.startswith("url sha256:") and len(identity) == len("url sha256:") + 64
    assert len(identity) <= MAX_IDENTITY and identity == url_identity(url)
    assert checked_archive_id(identity) == identity


def test_a_refused_entry_has_no_identity() -> None:
    entry = make_entry({"_type": "url", "url": "file:///etc/passwd", "playlist_index": 1}, None)
    assert entry.refused and entry.archive_id == ""


def test_an_identity_splits_into_extractor_and_media_id() -> None:
    assert split_identity("generic guid 1") == ("generic", "guid 1")
    entry = ArchiveEntry.record(
        "url http://a.example/x y", "http://a.example/x y", "", uuid.uuid4(), datetime.now(UTC)
    )
    assert (entry.extractor, entry.media_id) == ("url", "http://a.example/x y")


@pytest.mark.parametrize(
    "value", ["Youtube abc", "youtube", "youtube ", "youtube  ", " abc", "generic a\tb", "x " + "y" * 1100]
)
def test_jobstore_refuses_an_identity_of_another_form(value: str) -> None:
    with pytest.raises(InvalidInput):
        checked_archive_id(value)


def test_jobstore_takes_the_forms_workers_send() -> None:
    for value in ("youtube dQw4w9WgXcQ", "generic guid-1", "url https://a.example/a b?c=d", ""):
        assert checked_archive_id(value) == value
