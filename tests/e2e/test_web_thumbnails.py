"""The page shows a job's thumbnail from haul, never from the site: chromium against real services.

The poster of the downloaded page is an absolute URL on the media server. The worker fetches it
through its egress guard; the page must show the copy the gateway serves, and the browser must
send no request at all to the media server. With an API token set, an <img> cannot carry it, so
the page fetches the image with the token and shows it from memory.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import Locator, expect

from tests.e2e.browser_page import CHROMIUM, HaulPage
from tests.e2e.conftest import API_TOKEN
from tests.integration.haul_stack import Haul

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: `make setup` installs Debian's chromium as root", allow_module_level=True
    )

THUMBNAIL_WIDTH = 160  # tests.support.media_server.thumbnail_jpeg


def poster_page(haul: Haul) -> str:
    return haul.media.url(f"/poster?src={quote(haul.media.url('/thumb.jpg'), safe='')}")


def requests_seen(page: HaulPage) -> list[str]:
    seen: list[str] = []
    page.page.on("request", lambda request: seen.append(request.url))
    return seen


def completed_card(page: HaulPage, haul: Haul) -> tuple[str, Locator]:
    page.add(poster_page(haul), kind="Video")
    job_id = page.newest_card().get_attribute("data-job-id") or ""
    card = page.card(job_id)
    expect(page.status(card)).to_have_text("Completed", timeout=60_000)
    return job_id, card


def shown_width(image: Locator) -> int:
    expect(image).to_be_visible(timeout=15_000)
    image.evaluate("img => img.decode()")
    return int(image.evaluate("img => img.naturalWidth"))


def test_the_card_shows_the_copy_haul_serves_and_the_browser_never_asks_the_site(
    ui: HaulPage, haul: Haul
) -> None:
    seen = requests_seen(ui)
    ui.open()
    job_id, card = completed_card(ui, haul)
    image = card.locator("img").first
    expect(image).to_have_attribute("src", f"/files/{job_id}/thumbnail", timeout=15_000)
    assert shown_width(image) == THUMBNAIL_WIDTH
    card.get_by_role("button", name="Details").click()
    detail = card.get_by_role("region", name="About this download").locator("img")
    assert shown_width(detail) == THUMBNAIL_WIDTH
    assert [url for url in seen if url.startswith(haul.media.base_url)] == [], "the browser reached the site"


def test_with_an_api_token_the_page_fetches_the_thumbnail_with_it(guarded_page: HaulPage, haul: Haul) -> None:
    page = guarded_page
    seen = requests_seen(page)
    page.allow_console_error(r"status of 401")  # the first requests, made without the token
    page.open(live=False)
    dialog = page.page.get_by_role("dialog", name="This server needs an API token")
    dialog.get_by_label("API token").fill(API_TOKEN)
    dialog.get_by_role("button", name="Continue").click()
    expect(page.connection).to_have_text("Live", timeout=15_000)
    _, card = completed_card(page, haul)
    image = card.locator("img").first
    expect(image).to_have_attribute("src", re.compile(r"^blob:"), timeout=15_000)
    assert shown_width(image) == THUMBNAIL_WIDTH
    assert [url for url in seen if url.startswith(haul.media.base_url)] == [], "the browser reached the site"
