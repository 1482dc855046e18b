"""Collections in the page, end to end: a podcast feed submitted through the page becomes one card
whose entries show on demand and download together as a ZIP, and a long capped collection's
entries come page by page into a list that draws only the rows in view."""

from __future__ import annotations

import hashlib
import io
import re
import socket
import time
import zipfile

import pytest
from playwright.sync_api import Locator, expect

from tests.e2e.browser_page import CHROMIUM, HaulPage
from tests.integration.haul_stack import Haul
from tests.support import feeds

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: `make setup` installs Debian's chromium as root", allow_module_level=True
    )

CARDS = "li[data-job-id]"


def entries(card: Locator) -> Locator:
    return card.get_by_role("list", name=re.compile("^Entries of ")).get_by_role("listitem")


def test_a_podcast_feed_becomes_one_card_whose_entries_show_and_download_as_one_zip(
    ui: HaulPage, haul: Haul
) -> None:
    ui.open()
    ui.add(haul.media.url("/feeds/podcast.rss"), kind="Audio")
    card = ui.newest_card()
    expect(card).to_have_attribute("data-collection", "", timeout=30_000)
    parent = card.get_attribute("data-job-id")
    counts = card.get_by_test_id("counts")
    expect(counts).to_contain_text(f"of {feeds.EPISODES} completed", timeout=30_000)
    card.get_by_role("button", name="Entries").press("Enter")  # from the keyboard
    expect(card.get_by_role("button", name="Entries")).to_have_attribute("aria-expanded", "true")
    rows = entries(card)
    expect(rows).to_have_count(feeds.EPISODES, timeout=30_000)
    expect(ui.page.locator(CARDS)).to_have_count(1)  # the children are not cards of their own

    # The children's progress arrives live in the open list, and the card's counts follow.
    expect(ui.status(card).first).to_have_text("Completed", timeout=90_000)  # the card's, then its rows'

    expect(counts).to_have_text(f"{feeds.EPISODES} of {feeds.EPISODES} completed")
    expect(card.get_by_role("progressbar").first).to_have_attribute("aria-valuenow", "100")
    for index in range(feeds.EPISODES):
        row = rows.nth(index)
        expect(row).to_contain_text(str(index + 1))
        expect(row).to_contain_text(f"Episode {index + 1}")
        expect(ui.status(row)).to_have_text("Completed", timeout=30_000)
        expect(row.get_by_role("link", name="File")).to_be_visible()
    expect(ui.page.locator(CARDS)).to_have_count(1)
    ui.screenshot("collection")

    with ui.page.expect_download() as info:
        card.get_by_role("link", name="Download all (ZIP)").click()
    archive = zipfile.ZipFile(io.BytesIO(info.value.path().read_bytes()))
    members = archive.namelist()
    assert len(members) == feeds.EPISODES, members
    children = haul.http.get(f"{haul.base_url}/downloads", params={"parent": parent}).json()["items"]
    expected = [child["sha256"] for child in sorted(children, key=lambda child: child["entryIndex"])]
    got = [hashlib.sha256(archive.read(name)).hexdigest() for name in members]
    assert got == expected, "the ZIP holds every entry's file, in entry order"
    assert len(set(got)) == feeds.EPISODES, "each episode is a different file"

    card.get_by_role("button", name="Delete").click()
    ui.page.get_by_role("dialog", name="Delete this collection?").get_by_role("button", name="Delete").click()
    expect(ui.page.locator(CARDS)).to_have_count(0)


def test_the_entries_a_hostile_feed_aims_at_forbidden_addresses_say_why_they_were_refused(
    ui: HaulPage, haul: Haul
) -> None:
    with socket.socket() as closed:  # a port nothing listens on, for the feed's loopback entries
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    items = feeds.hostile_items(haul.media.base_url, port)
    ui.open()
    # The module's earlier tests downloaded these episodes: without redownload the archive skips them.
    parent = haul.submit(haul.media.url(f"/feeds/hostile.rss?port={port}"), "audio", redownload=True)
    card = ui.card(parent)
    expect(card).to_have_attribute("data-collection", "", timeout=60_000)
    card.get_by_role("button", name="Entries").click()
    rows = entries(card)
    expect(rows).to_have_count(len(items), timeout=30_000)
    for index, item in enumerate(items):
        if item.title in ("Local file", "FTP", "Credentials"):  # refused by the URL policy
            expect(ui.status(rows.nth(index))).to_have_text("Failed")
            expect(rows.nth(index)).to_contain_text("may not fetch")
    for index in (0, len(items) - 1):  # the good episodes around them
        expect(ui.status(rows.nth(index))).to_have_text("Completed", timeout=60_000)
        expect(rows.nth(index).get_by_role("link", name="File")).to_be_visible()
    expect(card.get_by_test_id("counts")).to_contain_text("2 of", timeout=15_000)
    expect(card.get_by_test_id("counts")).to_contain_text("failed")
    expect(card.get_by_role("link", name="Download all (ZIP)")).to_be_visible()
    ui.screenshot("collection-refused")


def test_a_capped_collection_says_so_and_its_entries_come_page_by_page_as_the_list_scrolls(
    ui: HaulPage, haul: Haul
) -> None:
    ui.open()
    cap = 250
    # Last in the module: the paused entries stay in the workers' queue until they are deleted.
    parent = haul.submit(haul.media.url("/feeds/large.rss"), "audio", maxItems=cap)
    # Only the list is wanted here, not 250 downloads: pause the collection once it is expanded.
    deadline = time.monotonic() + 60
    while (job := haul.job(parent))["collection"] is None or job["collection"]["total"] < cap:
        assert time.monotonic() < deadline, f"the collection was not expanded: {job}"
        time.sleep(0.2)
    haul.http.post(f"{haul.base_url}/downloads/{parent}/pause")
    card = ui.card(parent)
    expect(card.get_by_test_id("capped")).to_have_text(
        f"{cap} of {feeds.LARGE_FEED_ENTRIES:,} listed, capped", timeout=30_000
    )
    expect(ui.page.locator(CARDS)).to_have_count(1)

    card.get_by_role("button", name="Entries").click()
    rows = entries(card)
    expect(rows.first).to_contain_text("Entry 1", timeout=30_000)
    expect(card).to_contain_text(f"Showing 100 of {cap}")
    assert rows.count() < 40, "only the rows in view are drawn"
    scroller = card.get_by_role("list", name=re.compile("^Entries of "))
    deadline = time.monotonic() + 30
    while not card.get_by_text(f"Showing {cap} of {cap}").is_visible():
        assert time.monotonic() < deadline, "scrolling to the end did not load every page"
        scroller.evaluate("node => { node.scrollTop = node.scrollHeight; }")
        time.sleep(0.2)
    scroller.evaluate("node => { node.scrollTop = node.scrollHeight; }")
    expect(rows.last).to_contain_text(f"Entry {cap}")
    expect(rows.last).to_have_attribute("aria-posinset", str(cap))
    assert rows.count() < 40, "still only the rows in view"
    expect(ui.page.locator(CARDS)).to_have_count(1)
    ui.screenshot("collection-capped")
    ui.page.set_viewport_size({"width": 390, "height": 844})  # a phone: no sideways scrolling
    expect(rows.last).to_be_visible()
    assert ui.horizontal_overflow() <= 0
    ui.page.emulate_media(color_scheme="dark")
    ui.screenshot("collection-capped-phone-dark")
