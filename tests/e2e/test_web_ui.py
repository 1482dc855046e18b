"""The browser UI end to end: Debian's chromium drives the built page, served by a real gateway,
against real jobstore and worker processes downloading from a local media server.

Screenshots of the page's states land in test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.browser_page import CHROMIUM, HaulPage, SocketGate
from tests.e2e.conftest import API_TOKEN, open_page
from tests.integration.haul_stack import Haul

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: `make setup` installs Debian's chromium as root", allow_module_level=True
    )

# The daily figures come from the database, which keeps every job the module's tests finished.
AT_LEAST_ONE = re.compile(r"^[1-9][\d,]*$")
SOME_BYTES = re.compile(r"^(?!0 B$)[\d.]+ [kMGTP]?B$")


def job_id_for(haul: Haul, url: str) -> str:
    jobs = haul.http.get(f"{haul.base_url}/downloads").json()["items"]
    return str(next(job["id"] for job in jobs if job["url"] == url))


def test_a_video_added_in_the_page_reaches_100_its_file_matches_and_the_summary_counts_it(
    ui: HaulPage, haul: Haul
) -> None:
    ui.open()
    expect(ui.page.get_by_text("No downloads yet")).to_be_visible()
    expect(ui.summary).to_be_visible()
    ui.screenshot("empty")
    ui.add(haul.media.url("/video.mp4"), kind="Video")
    expect(ui.page.get_by_role("status").filter(has_text="Added 1 download.")).to_be_visible()
    card = ui.newest_card()
    expect(card.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100", timeout=60_000)
    expect(ui.status(card)).to_have_text("Completed")
    expect(card.get_by_role("progressbar")).to_have_attribute("aria-valuemax", "100")
    expect(ui.figure("completed")).to_have_text(AT_LEAST_ONE, timeout=10_000)  # refreshed by the outcome
    expect(ui.figure("downloaded")).to_have_text(SOME_BYTES)
    ui.screenshot("done")
    assert ui.save_download(card) == haul.media.media.sha256["video.mp4"]


def test_a_refused_link_shows_the_servers_reason_next_to_the_field(ui: HaulPage) -> None:
    ui.allow_console_error(r"status of 422")  # the browser logs the refusal it was sent
    ui.open()
    ui.add("ftp://media.example/file.bin")
    expect(ui.page.locator("#urls-refused")).to_contain_text("only http and https URLs are accepted")
    expect(ui.page.get_by_label("Links, one per line")).to_have_value("ftp://media.example/file.bin")
    expect(ui.page.locator("li[data-job-id]")).to_have_count(0)


def test_a_failed_download_says_why_keeps_its_history_and_can_be_retried(ui: HaulPage, haul: Haul) -> None:
    ui.open()
    ui.add(haul.media.url("/status/404"), kind="Video")
    card = ui.newest_card()
    expect(ui.status(card)).to_have_text("Failed", timeout=30_000)
    expect(card).to_contain_text("The site says there is nothing at this address. (HTTP 404)")
    expect(card).to_contain_text("HTTP_404")
    for action, enabled in (("Retry", True), ("Cancel", False), ("Pause", False), ("Resume", False)):
        button = card.get_by_role("button", name=action, exact=True)
        expect(button).to_be_enabled() if enabled else expect(button).to_be_disabled()
    card.get_by_role("button", name="Details").click()
    history = card.get_by_role("region", name="Status history").get_by_role("listitem")
    expect(history).to_have_count(3)
    expect(history.last).to_contain_text("Running → Failed")
    expect(ui.figure("failed")).to_have_text(AT_LEAST_ONE, timeout=10_000)
    ui.screenshot("failed")
    ui.page.emulate_media(color_scheme="dark")
    ui.screenshot("failed-dark")
    ui.act(card, "Retry")
    expect(history).to_have_count(6, timeout=30_000)  # queued, running and failed again
    expect(ui.status(card)).to_have_text("Failed")


def test_cancel_pause_resume_and_delete_show_in_the_page(ui: HaulPage, haul: Haul) -> None:
    doomed = haul.media.url("/slow/large.bin?rate=800000")
    paused = haul.media.url("/slow/medium.bin?rate=800000")
    ui.open()
    ui.add(doomed, paused, kind="Video")
    expect(ui.page.get_by_role("status").filter(has_text="Added 2 downloads.")).to_be_visible()
    first, second = ui.card(job_id_for(haul, doomed)), ui.card(job_id_for(haul, paused))
    for card in (first, second):
        expect(ui.status(card)).to_have_text("Running", timeout=30_000)
        ui.wait_for_progress(card, above=0)
    expect(second).to_contain_text("/s")  # a speed is shown while it runs
    ui.screenshot("downloading")

    ui.act(first, "Cancel")
    expect(ui.status(first)).to_have_text("Cancelled")
    expect(first.get_by_role("button", name="Retry")).to_be_enabled()

    ui.act(second, "Pause")
    expect(ui.status(second)).to_have_text("Paused")
    kept = ui.progress(second)
    expect(second.get_by_role("button", name="Pause")).to_be_disabled()
    ui.act(second, "Resume")
    expect(ui.status(second)).to_have_text("Running", timeout=30_000)
    assert ui.progress(second) >= kept, "a resumed download goes on from where it was"

    first.get_by_role("button", name="Delete").click()
    dialog = ui.page.get_by_role("dialog", name="Delete this download?")
    dialog.get_by_role("button", name="Keep it").click()
    expect(first).to_be_visible()
    first.get_by_role("button", name="Delete").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(first).to_have_count(0)
    gone = haul.http.get(f"{haul.base_url}/downloads/{job_id_for(haul, paused)}")
    assert gone.status_code == 200, "only the chosen job was deleted"


def test_without_its_socket_the_page_polls_and_goes_live_again(ui: HaulPage, haul: Haul) -> None:
    gate = SocketGate(ui.page)
    ui.open()
    gate.cut()
    expect(ui.connection).to_have_text("Polling", timeout=10_000)
    job_id = haul.submit(haul.media.url("/video.mp4"), "video")  # through REST, not the page
    card = ui.card(job_id)
    expect(ui.status(card)).to_have_text("Completed", timeout=30_000)
    expect(card.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    gate.restore()
    expect(ui.connection).to_have_text("Live", timeout=20_000)
    second = haul.submit(haul.media.url("/video.mp4"), "video")
    expect(ui.status(ui.card(second))).to_have_text("Completed", timeout=30_000)


@pytest.fixture
def phone(browser: Browser, haul: Haul) -> Iterator[HaulPage]:
    yield from open_page(
        browser, haul.base_url, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )


def test_a_phone_sized_screen_shows_the_list_without_sideways_scrolling(phone: HaulPage, haul: Haul) -> None:
    long_url = haul.media.url("/status/404?" + "very-long-query-part-" * 20)
    phone.open()
    phone.add(haul.media.url("/video.mp4"), long_url, kind="Video")
    cards = phone.page.locator("li[data-job-id]")
    expect(cards).to_have_count(2)
    for index in range(2):
        expect(phone.status(cards.nth(index))).to_have_text(re.compile("Completed|Failed"), timeout=30_000)
    failed = phone.card(job_id_for(haul, long_url))
    failed.get_by_role("button", name="Details").click()
    expect(failed.get_by_role("region", name="Status history")).to_be_visible()
    expect(phone.figure("completed")).to_have_text(AT_LEAST_ONE, timeout=10_000)
    assert phone.horizontal_overflow() <= 0
    phone.screenshot("mobile")


def test_the_page_asks_for_the_api_token_once_and_uses_it_everywhere(
    guarded_page: HaulPage, haul: Haul
) -> None:
    page = guarded_page
    page.allow_console_error(r"status of 401")  # the first requests, made without the token
    page.open(live=False)
    dialog = page.page.get_by_role("dialog", name="This server needs an API token")
    expect(dialog).to_be_visible()
    dialog.get_by_label("API token").fill(API_TOKEN)
    dialog.get_by_role("button", name="Continue").click()
    expect(dialog).to_be_hidden()
    expect(page.connection).to_have_text("Live", timeout=15_000)
    page.add(haul.media.url("/video.mp4"), kind="Video")
    card = page.card(page.newest_card().get_attribute("data-job-id") or "")
    expect(page.status(card)).to_have_text("Completed", timeout=60_000)
    assert page.save_download(card) == haul.media.media.sha256["video.mp4"]
    page.page.reload()  # the token is remembered: no question this time
    expect(page.connection).to_have_text("Live", timeout=15_000)
    expect(card).to_be_visible()
    expect(dialog).to_be_hidden()
