"""haul's page as the tests drive it: Debian's chromium through Playwright, a page object, and
a gate that cuts the page's Socket.IO connection the way a proxy that stops passing WebSockets
would."""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

from playwright.sync_api import Browser, BrowserType, Locator, Page, Route, WebSocketRoute, expect

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WEB_DIST = ROOT / "gateway" / "web" / "dist"
ARTIFACTS = ROOT / "test-artifacts"
SOCKET_IO = re.compile(r"/socket\.io/")
CUT = 4000  # an application close code: a page may close with 1000 or 3000-4999 only


class SocketGate:
    """Passes the page's Socket.IO traffic to the gateway until `cut()`, which closes the open
    socket on both sides. Until `restore()`, every new attempt then hangs unanswered, as behind
    a proxy that holds WebSocket upgrades, and long-polling requests are refused."""

    def __init__(self, page: Page) -> None:
        self.open = True
        self._sockets: list[tuple[WebSocketRoute, WebSocketRoute]] = []
        page.route_web_socket(SOCKET_IO, self._websocket)
        page.route(SOCKET_IO, self._http)

    def _websocket(self, page_side: WebSocketRoute) -> None:
        if self.open:  # otherwise it is never connected: the page's socket waits in vain
            self._sockets.append((page_side, page_side.connect_to_server()))

    def _http(self, route: Route) -> None:
        if self.open:
            route.continue_()
        else:
            route.abort("connectionrefused")

    def cut(self) -> None:
        self.open = False
        for page_side, server_side in self._sockets:
            server_side.close()
            page_side.close(code=CUT, reason="cut by the test")
        self._sockets.clear()

    def restore(self) -> None:
        self.open = True


class HaulPage:
    """The page at `base_url`, with the few moves the tests make, in the words a person would use."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.console_errors: list[str] = []
        self.allowed_errors: list[re.Pattern[str]] = []
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.console_errors.append(f"uncaught: {e}"))

    def allow_console_error(self, pattern: str) -> None:
        """An error the browser itself logs for something the test provokes on purpose."""
        self.allowed_errors.append(re.compile(pattern))

    def unexpected_console_errors(self) -> list[str]:
        return [e for e in self.console_errors if not any(p.search(e) for p in self.allowed_errors)]

    def open(self, live: bool = True) -> None:
        self.page.goto(self.base_url)
        if live:
            expect(self.connection).to_have_text("Live", timeout=15_000)

    @property
    def connection(self) -> Locator:
        return self.page.locator("[data-connection]")

    def add(self, *urls: str, kind: str = "Auto") -> None:
        self.page.get_by_label("Links, one per line").fill("\n".join(urls))
        self.page.get_by_text(kind, exact=True).click()
        self.page.get_by_role("button", name=re.compile(r"^Add (download|\d+ downloads)$")).click()

    @property
    def summary(self) -> Locator:
        """The last days' figures of finished downloads, under "Add downloads"."""
        return self.page.get_by_role("region", name="Last 7 days")

    def figure(self, name: str) -> Locator:
        """One value of the summary: completed, failed, retries, downloaded, median or p95."""
        return self.summary.locator(f'[data-figure="{name}"] dd')

    def card(self, job_id: str) -> Locator:
        return self.page.locator(f'li[data-job-id="{job_id}"]')

    def newest_card(self) -> Locator:
        return self.page.locator("li[data-job-id]").first

    def status(self, card: Locator) -> Locator:
        return card.get_by_test_id("status")

    def progress(self, card: Locator) -> int:
        return int(card.get_by_role("progressbar").get_attribute("aria-valuenow") or 0)

    def wait_for_progress(self, card: Locator, above: int, within: float = 30.0) -> int:
        deadline = time.monotonic() + within
        while (value := self.progress(card)) <= above:
            assert time.monotonic() < deadline, f"progress stayed at {value}%"
            time.sleep(0.1)
        return value

    def act(self, card: Locator, action: str) -> None:
        card.get_by_role("button", name=action, exact=True).click()

    def save_download(self, card: Locator) -> str:
        """Click the card's download link and return the sha256 of what the browser saved."""
        with self.page.expect_download() as info:
            card.get_by_role("link", name=re.compile("Download")).click()
        return hashlib.sha256(Path(info.value.path()).read_bytes()).hexdigest()

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True, animations="disabled")

    def horizontal_overflow(self) -> int:
        """How many CSS pixels the page is wider than the window (0 or less: no sideways scrolling)."""
        return int(self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def launch_chromium(chromium: BrowserType) -> Browser:
    return chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
