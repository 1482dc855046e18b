"""`/subscriptions` through the gateway, on a jobstore (PostgreSQL) whose interval floor is 2 s:
validation like `POST /downloads`, the floor named in a 400, the first check at once, "check
now", pause, paging, and a delete that keeps the check's download."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp
import pytest

from tests.support.inprocess import Stack

FEED = "https://media.example/podcast.xml"


async def send(stack: Stack, method: str, path: str, body: Any = None) -> tuple[int, Any, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, stack.base_url + path, json=body) as response,
    ):
        payload = await response.json() if response.content_type == "application/json" else None
        return response.status, payload, response.headers


async def checked(stack: Stack, subscription_id: str) -> dict[str, Any]:
    for _ in range(100):
        status, found, _ = await send(stack, "GET", f"/subscriptions/{subscription_id}")
        assert status == 200
        if found["lastJobId"]:
            return dict(found)
        await asyncio.sleep(0.1)
    raise AssertionError("the first check never started")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"url": FEED, "intervalSeconds": 1}, 400, "interval_too_short"),
        ({"url": "ftp://media.example/feed.xml"}, 422, "url_refused"),
        ({"url": FEED, "cookies": "x"}, 422, "invalid_request"),
        ({"url": FEED, "options": {"exec": "rm"}}, 422, "invalid_request"),
        ({"url": FEED, "type": "file"}, 422, "invalid_request"),
        ({"url": FEED, "maxItems": -1}, 422, "invalid_request"),
    ],
)
async def test_a_bad_subscription_is_refused_with_a_clear_reason(
    subscribing: Stack, body: dict[str, Any], status: int, code: str
) -> None:
    got, error, _ = await send(subscribing, "POST", "/subscriptions", body)
    assert (got, error["error"]["code"]) == (status, code)
    if code == "interval_too_short":
        assert "at least 2" in error["error"]["message"] and "intervalSeconds" in error["error"]["message"]


async def test_subscribe_check_pause_list_and_delete_keeping_the_download(subscribing: Stack) -> None:
    status, made, headers = await send(
        subscribing,
        "POST",
        "/subscriptions",
        {"url": FEED, "type": "audio", "intervalSeconds": 3600, "maxItems": 9},
    )
    assert status == 201 and headers["Location"] == f"/subscriptions/{made['id']}"
    assert {
        k: made[k] for k in ("url", "type", "maxItems", "intervalSeconds", "enabled", "title", "lastError")
    } == {
        "url": FEED,
        "type": "audio",
        "maxItems": 9,
        "intervalSeconds": 3600,
        "enabled": True,
        "title": None,
        "lastError": None,
    }
    first = await checked(subscribing, made["id"])
    assert first["lastCheckedAt"] and first["nextCheckAt"] > first["lastCheckedAt"]
    status, job, _ = await send(subscribing, "GET", f"/downloads/{first['lastJobId']}")
    assert status == 200 and (job["url"], job["type"], job["status"]) == (FEED, "audio", "queued")

    # The first check has not listed the feed yet: checking now names it instead of a second one.
    status, accepted, headers = await send(subscribing, "POST", f"/subscriptions/{made['id']}/check")
    assert (status, accepted) == (202, {"jobId": first["lastJobId"]})
    assert headers["Location"] == f"/downloads/{first['lastJobId']}"

    status, refused, _ = await send(
        subscribing, "PATCH", f"/subscriptions/{made['id']}", {"intervalSeconds": 1}
    )
    assert (status, refused["error"]["code"]) == (400, "interval_too_short")
    status, paused, _ = await send(
        subscribing, "PATCH", f"/subscriptions/{made['id']}", {"enabled": False, "intervalSeconds": 7200}
    )
    assert status == 200 and (paused["enabled"], paused["nextCheckAt"], paused["intervalSeconds"]) == (
        False,
        None,
        7200,
    )

    status, page, _ = await send(subscribing, "GET", "/subscriptions?limit=1")
    assert status == 200 and [s["id"] for s in page["items"]] == [made["id"]] and page["nextCursor"] is None
    status, error, _ = await send(subscribing, "GET", "/subscriptions?cursor=nonsense")
    assert (status, error["error"]["code"]) == (400, "invalid_cursor")

    status, _, _ = await send(subscribing, "DELETE", f"/subscriptions/{made['id']}")
    assert status == 204
    status, error, _ = await send(subscribing, "GET", f"/subscriptions/{made['id']}")
    assert (status, error["error"]["code"]) == (404, "not_found")
    status, job, _ = await send(subscribing, "GET", f"/downloads/{first['lastJobId']}")
    assert status == 200, "the check's download stays"


async def test_an_id_that_is_not_a_uuid_is_400_and_an_unknown_one_404(subscribing: Stack) -> None:
    for method, path in (
        ("GET", "/subscriptions/x"),
        ("POST", "/subscriptions/x/check"),
        ("DELETE", "/subscriptions/x"),
    ):
        status, error, _ = await send(subscribing, method, path)
        assert (status, error["error"]["code"]) == (400, "invalid_subscription_id")
    status, error, _ = await send(subscribing, "POST", f"/subscriptions/{uuid.uuid4()}/check")
    assert (status, error["error"]["code"]) == (404, "not_found")
