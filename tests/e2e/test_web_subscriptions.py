"""The Subscriptions view end to end: a feed subscribed to through the page is checked at once
(its check is a collection under Downloads), paused and resumed, checked again on demand and
deleted, while a malformed feed's failed check shows its error."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Locator, expect

from tests.e2e.browser_page import CHROMIUM, HaulPage
from tests.integration.haul_stack import Haul

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: `make setup` installs Debian's chromium as root", allow_module_level=True
    )

FIFTEEN_MINUTES = 900


@pytest.fixture(autouse=True)
def no_subscriptions(haul: Haul) -> None:
    """Every test starts with no subscriptions (the job list is emptied by the e2e conftest)."""
    listing = haul.http.get(f"{haul.base_url}/subscriptions", params={"limit": 100})
    assert listing.status_code == 200, listing.text
    for subscription in listing.json()["items"]:
        haul.http.delete(f"{haul.base_url}/subscriptions/{subscription['id']}")


def subscriptions(haul: Haul) -> list[dict[str, Any]]:
    return list(haul.http.get(f"{haul.base_url}/subscriptions").json()["items"])


def until(what: str, check: Callable[[], Any], within: float = 60.0) -> Any:
    deadline = time.monotonic() + within
    while not (value := check()):
        assert time.monotonic() < deadline, f"{what}: not within {within} s"
        time.sleep(0.2)
    return value


def subscribe(ui: HaulPage, url: str, kind: str = "audio") -> Locator:
    page = ui.page
    page.get_by_role("tab", name="Subscriptions").click()
    page.get_by_label("Feed, channel or playlist link").fill(url)
    page.get_by_label("Type").select_option(kind)
    page.get_by_label("Check every").select_option(str(FIFTEEN_MINUTES))
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("status").filter(has_text="Subscribed.")).to_be_visible()
    return page.locator("li[data-subscription-id]")  # each test starts with none


def test_a_subscription_added_in_the_page_is_checked_paused_resumed_checked_now_and_deleted(
    ui: HaulPage, haul: Haul
) -> None:
    feed = haul.media.url("/feeds/podcast.rss")
    ui.open()
    # The views are tabs: the arrow keys move between them.
    ui.page.get_by_role("tab", name="Downloads").focus()
    ui.page.keyboard.press("ArrowRight")
    expect(ui.page.get_by_role("tab", name="Subscriptions")).to_have_attribute("aria-selected", "true")
    expect(ui.page.get_by_role("tab", name="Subscriptions")).to_be_focused()
    expect(ui.page.get_by_text("No subscriptions yet")).to_be_visible()
    card = subscribe(ui, feed)
    expect(card).to_have_count(1)
    expect(card).to_contain_text("every 15 minutes")
    expect(card.get_by_test_id("enabled")).to_have_text("Active")
    [stored] = subscriptions(haul)
    assert (stored["url"], stored["type"], stored["intervalSeconds"]) == (feed, "audio", FIFTEEN_MINUTES)

    # The first check runs at once; the view, polled, shows when it ran and when the next is due.
    first = until("the first check", lambda: subscriptions(haul)[0]["lastJobId"])
    expect(card).not_to_contain_text("not yet", timeout=15_000)
    expect(card.get_by_test_id("next-check")).to_contain_text("in ")
    expect(card.get_by_test_id("last-error")).to_have_count(0)

    card.get_by_role("button", name="Pause").click()
    expect(card.get_by_test_id("enabled")).to_have_text("Paused")
    expect(card.get_by_test_id("next-check")).to_have_text("paused")
    assert subscriptions(haul)[0]["enabled"] is False
    card.get_by_role("button", name="Resume").click()
    expect(card.get_by_test_id("enabled")).to_have_text("Active")
    assert subscriptions(haul)[0]["enabled"] is True

    # A check asked for while the last one is unfinished is that one: let the first finish.
    assert haul.wait_for(first, within=90)["status"] == "completed"
    card.get_by_role("button", name="Check now").click()
    expect(card.get_by_role("status")).to_have_text("Checking now.")
    until("a second check", lambda: subscriptions(haul)[0]["lastJobId"] not in (None, first))

    # Each check is a collection under Downloads; the card leads to the last one.
    second = subscriptions(haul)[0]["lastJobId"]
    card.get_by_role("button", name="Show the last check").click()
    expect(ui.page.get_by_role("tab", name="Downloads")).to_have_attribute("aria-selected", "true")
    expect(ui.card(second)).to_be_focused()
    expect(ui.card(second)).to_have_attribute("data-collection", "", timeout=15_000)
    expect(ui.card(first)).to_have_attribute("data-collection", "")

    ui.page.get_by_role("tab", name="Subscriptions").click()
    card.get_by_role("button", name="Delete").click()
    dialog = ui.page.get_by_role("dialog", name="Delete this subscription?")
    dialog.get_by_role("button", name="Keep it").click()
    expect(card).to_have_count(1)
    card.get_by_role("button", name="Delete").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(card).to_have_count(0)
    expect(ui.page.get_by_text("No subscriptions yet")).to_be_visible()
    assert subscriptions(haul) == []
    assert haul.http.get(f"{haul.base_url}/downloads/{first}").status_code == 200, "its downloads stay"
    ui.screenshot("subscriptions-empty")


def test_a_failed_check_shows_its_error_in_the_view(ui: HaulPage, haul: Haul) -> None:
    ui.open()
    card = subscribe(ui, haul.media.url("/feeds/malformed.rss"))
    error = card.get_by_test_id("last-error")
    expect(error).to_be_visible(timeout=60_000)
    expect(error).to_contain_text("The last check failed")
    [stored] = subscriptions(haul)
    expect(error).to_contain_text(stored["lastError"])
    ui.screenshot("subscription-error")
