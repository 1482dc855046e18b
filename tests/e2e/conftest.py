"""The browser tests' world: the whole of haul as real processes serving the built UI, a local
media origin, and Debian's chromium. One stack per module keeps the suite quick; every test
starts from an empty job list."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.e2e.browser_page import WEB_DIST, HaulPage, launch_chromium
from tests.integration.haul_stack import Haul, run_haul_on_fresh_database
from tests.integration.processes import GatewayProcess
from tests.support.media_server import MediaServer
from tests.support.servers import PostgresServer, RedisServer

REDIS_DB = 4  # a database of the shared test Redis that no other module uses
DESKTOP = {"width": 1280, "height": 900}
API_TOKEN = "e2e-api-token-0123456789"


@pytest.fixture(scope="module")
def haul(
    pg_server: PostgresServer,
    redis_server: RedisServer,
    media: MediaServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Haul]:
    """jobstore, the gateway (serving gateway/web/dist) and a worker pool, as real processes."""
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail(f"the web UI is not built in {WEB_DIST}: run `make web`")
    folder = tmp_path_factory.mktemp("haul")
    yield from run_haul_on_fresh_database(
        pg_server, redis_server.url(REDIS_DB), media, folder, HAUL_WEB_DIR=str(WEB_DIST)
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = launch_chromium(playwright.chromium)
        yield launched
        launched.close()


@pytest.fixture(autouse=True)
def empty_job_list(haul: Haul) -> None:
    """Every test starts with no jobs: deleting one also stops its download."""
    listing = haul.http.get(f"{haul.base_url}/downloads", params={"limit": 500})
    for job in listing.json()["items"]:
        haul.http.delete(f"{haul.base_url}/downloads/{job['id']}")


def open_page(browser: Browser, base_url: str, **context: Any) -> Iterator[HaulPage]:
    """A fresh browser context (no stored token, no cache) on the page; it must log no errors."""
    session = browser.new_context(**{"viewport": DESKTOP, "accept_downloads": True, **context})
    try:
        page = HaulPage(session.new_page(), base_url)
        yield page
        assert page.unexpected_console_errors() == [], "the browser console shows errors"
    finally:
        session.close()


@pytest.fixture
def ui(browser: Browser, haul: Haul) -> Iterator[HaulPage]:
    yield from open_page(browser, haul.base_url)


@pytest.fixture
def guarded_page(browser: Browser, haul: Haul, tmp_path: Path) -> Iterator[HaulPage]:
    """The page served by a second gateway on the same jobstore, one that wants API_TOKEN."""
    gateway = GatewayProcess(
        haul.jobstore.address,
        tmp_path / "gateway-with-token.log",
        HAUL_API_TOKEN=API_TOKEN,
        HAUL_WEB_DIR=str(WEB_DIST),
        HAUL_DATA_DIR=str(haul.data_dir),
    )
    gateway.start()
    try:
        yield from open_page(browser, gateway.base_url)
    finally:
        gateway.terminate()
