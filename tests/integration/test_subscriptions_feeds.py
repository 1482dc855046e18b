"""Subscriptions end to end: jobstore, the gateway and workers as real processes, real yt-dlp
against the local media origin's feeds, a 2 s interval. The malformed feed: the check fails,
`lastError` says why in words, and the next interval tries again; a source that is one file is
downloaded once, and its subscription paused. (The growing feed:
test_subscriptions_growing.py.) Both tests share the module's stack: each reads only its own
subscription and the checks of its own URL."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.haul_stack import Haul

INTERVAL = 2
pytestmark = pytest.mark.haul_env(HAUL_SUBSCRIPTION_MIN_INTERVAL="1", HAUL_SUBSCRIPTION_CHECK_PERIOD="0.3")


def subscribe(haul: Haul, path: str, **fields: Any) -> dict[str, Any]:
    body = {"url": haul.media.url(path), "intervalSeconds": INTERVAL, **fields}
    response = haul.http.post(f"{haul.base_url}/subscriptions", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def subscription(haul: Haul, subscription_id: str) -> dict[str, Any]:
    response = haul.http.get(f"{haul.base_url}/subscriptions/{subscription_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def until(probe: Callable[[], Any], within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {within} s")


def checks_of(haul: Haul, url: str) -> list[dict[str, Any]]:
    """Every check job of the subscription to `url` (top-level jobs for that URL), oldest first."""
    response = haul.http.get(f"{haul.base_url}/downloads?limit=500")
    assert response.status_code == 200, response.text
    return sorted((j for j in response.json()["items"] if j["url"] == url), key=lambda j: j["createdAt"])


def children_of(haul: Haul, parent_id: str) -> list[dict[str, Any]]:
    response = haul.http.get(f"{haul.base_url}/downloads?parent={parent_id}&limit=500")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def all_done(haul: Haul, url: str) -> bool:
    checks = checks_of(haul, url)
    return bool(checks) and all(c["status"] in ("completed", "failed", "cancelled") for c in checks)


def test_a_malformed_feed_records_a_readable_error_and_is_tried_again(shared_haul: Haul) -> None:
    haul = shared_haul
    made = subscribe(haul, "/feeds/malformed.rss")
    failed = until(lambda: (s := subscription(haul, made["id"]))["lastError"] and s, 90, "the failed check")
    code, _, message = failed["lastError"].partition(": ")
    assert code == "COLLECTION_UNREADABLE" and "not well-formed" in message, failed["lastError"]
    assert "Traceback" not in message and "/tmp/" not in message
    retried = until(
        lambda: (s := subscription(haul, made["id"]))["lastJobId"] != failed["lastJobId"] and s,
        30,
        "the next check",
    )
    assert retried["lastCheckedAt"] > failed["lastCheckedAt"]


def test_a_source_that_is_one_file_is_downloaded_once_and_the_subscription_paused(
    shared_haul: Haul,
) -> None:
    haul = shared_haul
    made = subscribe(haul, "/video.mp4")
    paused = until(lambda: not (s := subscription(haul, made["id"]))["enabled"] and s, 90, "the pause")
    assert paused["lastError"].startswith("NOT_A_COLLECTION: "), paused["lastError"]
    time.sleep(2.5 * INTERVAL)
    checks = checks_of(haul, made["url"])
    assert [c["status"] for c in checks] == ["completed"], "one download, never a second"
