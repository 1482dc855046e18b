"""Subscriptions end to end on the growing feed (real processes, real yt-dlp, a 2 s interval):
the first check downloads every item; once the feed gains an item, exactly one new job is
created for it, and no check ever repeats an entry; deleting the subscription keeps the
downloads and their files."""

from __future__ import annotations

import pytest

from tests.integration.haul_stack import Haul
from tests.integration.test_subscriptions_feeds import (
    INTERVAL,
    all_done,
    checks_of,
    children_of,
    subscribe,
    subscription,
    until,
)
from tests.support import feeds

pytestmark = pytest.mark.haul_env(HAUL_SUBSCRIPTION_MIN_INTERVAL="1", HAUL_SUBSCRIPTION_CHECK_PERIOD="0.3")


def test_the_growing_feed_gives_exactly_one_new_job_per_new_item(haul: Haul) -> None:
    made = subscribe(haul, "/feeds/growing.rss", type="audio")
    url = made["url"]
    first = until(lambda: (s := subscription(haul, made["id"]))["title"] and s, 60, "the first listing")
    assert first["title"] == "Growing feed" and first["lastError"] is None
    until(lambda: all_done(haul, url), 120, "the first items' downloads")
    entries = [c for check in checks_of(haul, url) for c in children_of(haul, check["id"])]
    assert sorted(c["status"] for c in entries) == ["completed"] * feeds.GROWING_FEED_START

    item = haul.media.add_feed_item()
    until(
        lambda: any(
            c["url"].split("#")[0] == item.url
            for check in checks_of(haul, url)
            for c in children_of(haul, check["id"])
        ),
        30,
        "a job for the new item",
    )
    until(lambda: all_done(haul, url), 120, "the new item's download")
    # A check after the new item's download, finished: it may repeat no entry and skips them all.
    seen = len(checks_of(haul, url))
    checks = until(
        lambda: len(c := checks_of(haul, url)) > seen and all_done(haul, url) and c,
        2 * INTERVAL + 30,
        "another check",
    )
    assert len(checks) >= 3
    entries = [c for check in checks for c in children_of(haul, check["id"])]
    keys = [c["url"].split("#")[0] for c in entries]
    assert len(keys) == len(set(keys)) == feeds.GROWING_FEED_START + 1, keys
    assert [c["status"] for c in entries] == ["completed"] * len(entries)
    latest = [check["collection"] for check in checks if check.get("collection")][-1]
    assert (latest["total"], latest["skipped"]) == (0, feeds.GROWING_FEED_START + 1), "every entry held"

    # Unsubscribing keeps the downloads and their files.
    assert haul.http.delete(f"{haul.base_url}/subscriptions/{made['id']}").status_code == 204
    for child in entries:
        assert haul.http.get(f"{haul.base_url}/files/{child['id']}").status_code == 200
