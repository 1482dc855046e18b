"""The egress guard against real yt-dlp, aria2c, ffmpeg and HTTP clients, on loopback only.

A canary listens on 127.0.0.1 and [::1] and counts every connection it accepts; it must count none.
The test origin listens on 127.0.0.2, the one network a guard may allow, and serves media, HLS
playlists, redirects, a torrent and a Metalink file that all point at the canary. Control tests
aim the same tricks at a second canary without the guard's settings, to prove each trick is real.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import http.client
import json
import os
import selectors
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yt_dlp
from aiohttp import web
from yt_dlp.utils import DownloadError

from worker.egress.limits import EgressTimeouts
from worker.egress.policy import EgressPolicy
from worker.egress.proxy import EgressProxy
from worker.egress.relay import RelayMode
from worker.egress.thread import EgressProxyThread
from worker.egress.tools import (
    EgressBypass,
    aria2_global_options,
    assert_http_inputs,
    assert_no_concat,
    ffmpeg_input_args,
    sanitize_aria2_download_options,
    tool_environment,
    ytdlp_options,
)

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
ARIA2C = shutil.which("aria2c") or "/usr/bin/aria2c"
ORIGIN_HOST = "127.0.0.2"
TOOL_TIMEOUT = 30
SMALL = os.urandom(200_000)
LARGE = os.urandom(8 * 1024 * 1024)


# --- the canary, the origin, the guards -------------------------------------------------------------


class Canary:
    """Counts connections accepted on 127.0.0.1:port and [::1]:port (the same port number)."""

    def __init__(self) -> None:
        self.accepted = 0
        self._selector = selectors.DefaultSelector()
        self._listeners: list[socket.socket] = []
        for _ in range(20):  # a port free on both loopbacks
            v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            v4.bind(("127.0.0.1", 0))
            self.port = v4.getsockname()[1]
            v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                v6.bind(("::1", self.port))
            except OSError:
                v4.close()
                v6.close()
                continue
            self._listeners = [v4, v6]
            break
        for listener in self._listeners:
            listener.listen(64)
            listener.setblocking(False)
            self._selector.register(listener, selectors.EVENT_READ)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="canary", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            for key, _ in self._selector.select(timeout=0.05):
                with contextlib.suppress(BlockingIOError):
                    connection, _ = key.fileobj.accept()  # type: ignore[union-attr]
                    self.accepted += 1
                    connection.close()

    def wait_for_any(self, seconds: float) -> int:
        deadline = time.monotonic() + seconds
        while not self.accepted and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.accepted

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        for listener in self._listeners:
            listener.close()
        self._selector.close()


def bencode(value: Any) -> bytes:
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(item) for item in value) + b"e"
    items = sorted(value.items())
    return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"


def make_media(folder: Path) -> None:
    (folder / "small.bin").write_bytes(SMALL)
    (folder / "large.bin").write_bytes(LARGE)
    quiet = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y"]
    source = ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=2", "-c:v", "libx264",
              "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "10"]  # fmt: skip
    subprocess.run([*quiet, *source, str(folder / "video.mp4")], check=True, timeout=60)
    (folder / "hls").mkdir()
    subprocess.run(
        [*quiet, *source, "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
         "-hls_segment_filename", str(folder / "hls" / "seg%d.ts"), str(folder / "hls" / "good.m3u8")],
        check=True, timeout=60,
    )  # fmt: skip


class Origin:
    """An aiohttp origin on 127.0.0.2 in its own thread. `{port}` routes point at a canary's port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.paths: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="origin", daemon=True)
        self._runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://{ORIGIN_HOST}:{self.port}{path}"

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=15)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _start(self) -> None:
        app = web.Application(middlewares=[self._log], client_max_size=len(LARGE) + 1)
        app.router.add_post("/echo", self._echo)
        app.router.add_get("/redirect", self._redirect)
        app.router.add_get("/bad/segments/{port}.m3u8", self._bad_segments)
        app.router.add_get("/bad/key/{port}.m3u8", self._bad_key)
        app.router.add_get("/evil/{port}.torrent", self._torrent)
        app.router.add_get("/announce/{port}", self._announce)
        app.router.add_get("/evil/{port}.meta4", self._metalink)
        app.router.add_get("/evil/{port}.ffconcat", self._concat)
        app.router.add_static("/hls", self.folder / "hls")
        app.router.add_static("/files", self.folder)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, ORIGIN_HOST, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    @web.middleware
    async def _log(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.paths.append(request.path)
        response: web.StreamResponse = await handler(request)
        return response

    async def _echo(self, request: web.Request) -> web.Response:
        return web.Response(text=hashlib.sha256(await request.read()).hexdigest())

    async def _redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def _bad_segments(self, request: web.Request) -> web.Response:
        port = request.match_info["port"]
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:1", "#EXT-X-PLAYLIST-TYPE:VOD"]
        for n in range(2):
            lines += ["#EXTINF:1.0,", f"http://127.0.0.1:{port}/seg{n}.ts"]
        return self._playlist([*lines, "#EXT-X-ENDLIST"])

    async def _bad_key(self, request: web.Request) -> web.Response:
        port = request.match_info["port"]
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:1", "#EXT-X-PLAYLIST-TYPE:VOD",
                 f'#EXT-X-KEY:METHOD=AES-128,URI="http://127.0.0.1:{port}/key",IV=0x{"00" * 16}']  # fmt: skip
        for n in range(2):
            lines += ["#EXTINF:1.0,", f"/hls/seg{n}.ts"]
        return self._playlist([*lines, "#EXT-X-ENDLIST"])

    @staticmethod
    def _playlist(lines: list[str]) -> web.Response:
        return web.Response(text="\n".join(lines) + "\n", content_type="application/vnd.apple.mpegurl")

    async def _torrent(self, request: web.Request) -> web.Response:
        data = b"\0" * 16384
        torrent = {
            "announce": self.url(f"/announce/{request.match_info['port']}"),
            "info": {
                "name": "payload.bin",
                "piece length": 16384,
                "length": len(data),
                "pieces": hashlib.sha1(data).digest(),
            },
        }
        return web.Response(body=bencode(torrent), content_type="application/x-bittorrent")

    async def _announce(self, request: web.Request) -> web.Response:
        peer = socket.inet_aton("127.0.0.1") + int(request.match_info["port"]).to_bytes(2, "big")
        return web.Response(body=bencode({"interval": 1800, "peers": peer}), content_type="text/plain")

    async def _metalink(self, request: web.Request) -> web.Response:
        port = request.match_info["port"]
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><metalink xmlns="urn:ietf:params:xml:ns:metalink">'
            f'<file name="payload.bin"><url>http://127.0.0.1:{port}/payload.bin</url></file></metalink>'
        )
        return web.Response(text=body, content_type="application/metalink4+xml")

    async def _concat(self, request: web.Request) -> web.Response:
        return web.Response(
            text=f"ffconcat version 1.0\nfile 'tcp://127.0.0.1:{request.match_info['port']}'\n"
        )


@dataclass
class Lab:
    origin: Origin
    canary: Canary
    closed: EgressProxyThread  # allows nothing
    guard: EgressProxyThread  # allows 127.0.0.2/32 (the origin) only
    tmp: Path

    def proxy(self, closed: bool = False) -> str:
        return (self.closed if closed else self.guard).url_for("job-1")

    def refused(self) -> int:
        return self.closed.proxy.stats.refused + self.guard.proxy.stats.refused


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    folder = tmp_path_factory.mktemp("egress-media")
    make_media(folder)
    origin, canary = Origin(folder), Canary()
    origin.start()
    closed = EgressProxy(EgressPolicy([])).run_in_thread()
    guard = EgressProxy(EgressPolicy([f"{ORIGIN_HOST}/32"])).run_in_thread()
    try:
        yield Lab(origin, canary, closed, guard, folder)
    finally:
        closed.stop()
        guard.stop()
        origin.stop()
        canary.close()
    assert canary.accepted == 0, "something reached the canary"
    assert not [t for t in threading.enumerate() if t.name.startswith("egress")], "relay threads left running"


@pytest.fixture
def control() -> Iterator[Canary]:
    canary = Canary()
    yield canary
    canary.close()


# --- the clients ------------------------------------------------------------------------------------


def basic(proxy_url: str) -> str:
    credentials = proxy_url.split("//", 1)[1].split("@", 1)[0]
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def raw_exchange(handle: EgressProxyThread, request: str, then: bytes = b"") -> bytes:
    """Send `request` (with this job's credentials) to the proxy; everything it answers until EOF."""
    head = request.replace(
        "\r\n\r\n", f"\r\nProxy-Authorization: {basic(handle.url_for('job-1'))}\r\n\r\n", 1
    )
    with socket.create_connection(("127.0.0.1", handle.proxy.port), timeout=10) as sock:
        sock.sendall(head.encode() + then)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def urllib_get(url: str, proxy: str) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy, "https": proxy}))
    try:
        with opener.open(url, timeout=10) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except urllib.error.URLError:
        return -1


class _Quiet:
    def debug(self, _msg: str) -> None: ...
    def warning(self, _msg: str) -> None: ...
    def error(self, _msg: str) -> None: ...


def ytdlp(url: str, proxy: str, folder: Path) -> Path | None:
    """The downloaded file, or None when yt-dlp failed."""
    options = {"quiet": True, "noprogress": True, "logger": _Quiet(), "retries": 0, "fragment_retries": 0,
               "extractor_retries": 0, "socket_timeout": 10, "cachedir": False, "noplaylist": True,
               "outtmpl": str(folder / "yt.%(ext)s"), **ytdlp_options(proxy)}  # fmt: skip
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=True)
    except DownloadError:
        return None
    return Path(info["requested_downloads"][0]["filepath"])


def aria2(url: str, proxy: str | None, folder: Path, *extra: str, env: dict[str, str] | None = None) -> int:
    command = [ARIA2C, "-q", "--max-tries=1", "--retry-wait=0", "--connect-timeout=5", "--timeout=5",
               "--file-allocation=none", "--allow-overwrite=true", "-d", str(folder), *extra, url]  # fmt: skip
    if proxy:
        command[1:1] = [f"--{name}={value}" for name, value in aria2_global_options(proxy).items()]
    env = env if env is not None else tool_environment(os.environ, proxy or "")
    return subprocess.run(command, env=env, capture_output=True, timeout=TOOL_TIMEOUT).returncode


def ffmpeg(args: list[str], env: dict[str, str] | None = None) -> int:
    command = [
        FFMPEG,
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-y",
        "-rw_timeout",
        "5000000",
        *args,
    ]
    return subprocess.run(command, env=env, capture_output=True, timeout=TOOL_TIMEOUT).returncode


def ffmpeg_read(proxy: str, input_format: str, url: str, out: str = "-") -> int:
    args = [*ffmpeg_input_args(proxy, input_format), "-i", url]
    assert_no_concat(args)
    assert_http_inputs(args)
    sink = ["-f", "null", "-"] if out == "-" else ["-c", "copy", out]
    return ffmpeg([*args, *sink], env=tool_environment(os.environ, proxy))


# --- hostile targets, straight at the canary ----------------------------------------------------------


def hostile_urls(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/",
        f"http://[::1]:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",
        f"http://2130706433:{port}/",
        f"http://0x7f.1:{port}/",
        f"http://017700000001:{port}/",
        f"http://127.1:{port}/",
        f"http://0.0.0.0:{port}/",
        f"http://0:{port}/",
        f"http://localhost:{port}/",
        "http://169.254.169.254/latest/meta-data/",
    ]


def test_a_raw_client_gets_403_with_a_reason_for_every_hostile_target(lab: Lab) -> None:
    for url in hostile_urls(lab.canary.port):
        host = url.split("/")[2]
        answer = raw_exchange(lab.closed, f"GET {url} HTTP/1.1\r\nHost: {host}\r\n\r\n")
        status, _, body = answer.partition(b"\r\n\r\n")
        assert status.startswith(b"HTTP/1.1 403 "), (url, answer[:200])
        assert b"refused" in body, body
    assert lab.canary.accepted == 0


def test_connect_to_the_canary_is_refused_in_every_spelling(lab: Lab) -> None:
    for authority in ("127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "2130706433", "127.1", "0", "localhost"):
        answer = raw_exchange(lab.closed, f"CONNECT {authority}:{lab.canary.port} HTTP/1.1\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 403 "), (authority, answer[:200])
    assert lab.canary.accepted == 0


def test_urllib_and_https_urls_are_refused(lab: Lab) -> None:
    before = lab.refused()
    for url in [*hostile_urls(lab.canary.port), f"https://127.0.0.1:{lab.canary.port}/"]:
        assert urllib_get(url, lab.proxy(closed=True)) in (403, -1), url
    assert lab.refused() - before == len(hostile_urls(lab.canary.port)) + 1
    assert lab.canary.accepted == 0


def test_ytdlp_fails_on_every_hostile_target(lab: Lab, tmp_path: Path) -> None:
    for url in [*hostile_urls(lab.canary.port), f"https://127.0.0.1:{lab.canary.port}/v.mp4"]:
        before = lab.refused()
        assert ytdlp(url, lab.proxy(closed=True), tmp_path) is None, url
        assert lab.refused() > before, f"yt-dlp asked the guard for {url}"
    assert lab.canary.accepted == 0


def test_aria2_fails_on_every_hostile_target(lab: Lab, tmp_path: Path) -> None:
    for url in [*hostile_urls(lab.canary.port), f"https://127.0.0.1:{lab.canary.port}/x.bin"]:
        before = lab.refused()
        assert aria2(url, lab.proxy(closed=True), tmp_path) != 0, url
        assert lab.refused() > before, f"aria2 asked the guard for {url}"
    assert lab.canary.accepted == 0


def test_ffmpeg_fails_on_every_hostile_target(lab: Lab) -> None:
    for url in [*hostile_urls(lab.canary.port), f"https://127.0.0.1:{lab.canary.port}/v.mp4"]:
        before = lab.refused()
        assert ffmpeg_read(lab.proxy(closed=True), "mp4", url) != 0, url
        assert lab.refused() > before, f"ffmpeg asked the guard for {url}"
    assert lab.canary.accepted == 0


# --- redirects, HLS segments and keys -------------------------------------------------------------------


def redirects_to_canary(lab: Lab) -> list[str]:
    port = lab.canary.port
    targets = [f"http://127.0.0.1:{port}/x", f"http://[::1]:{port}/x", f"https://127.0.0.1:{port}/x",
               f"http://2130706433:{port}/x"]  # fmt: skip
    return [lab.origin.url(f"/redirect?to={target}") for target in targets]


def test_every_tool_refuses_a_redirect_to_loopback(lab: Lab, tmp_path: Path) -> None:
    seen = len(lab.origin.paths)
    for url in redirects_to_canary(lab):
        before = lab.refused()
        assert urllib_get(url, lab.proxy()) in (403, -1), url
        assert ytdlp(url, lab.proxy(), tmp_path) is None, url
        assert aria2(url, lab.proxy(), tmp_path) != 0, url
        assert ffmpeg_read(lab.proxy(), "mp4", url) != 0, url
        assert lab.refused() - before >= 4, f"each tool followed {url} and was refused"
    assert lab.origin.paths[seen:].count("/redirect") == 4 * len(redirects_to_canary(lab)), "redirects served"
    assert lab.canary.accepted == 0


def test_aria2_and_ffmpeg_refuse_a_redirect_to_another_protocol(lab: Lab, tmp_path: Path) -> None:
    port = lab.canary.port
    stats = lab.guard.proxy.stats
    for scheme in ("ftp", "sftp"):  # aria2 asks the guard: GET ftp://... (400), CONNECT for sftp (403)
        url = lab.origin.url(f"/redirect?to={scheme}://127.0.0.1:{port}/x")
        answered = stats.refused + stats.rejected
        assert aria2(url, lab.proxy(), tmp_path) != 0, url
        assert stats.refused + stats.rejected > answered, url
    for scheme in ("ftp", "sftp", "tcp"):  # ffmpeg's http follows http(s) redirects only
        url = lab.origin.url(f"/redirect?to={scheme}://127.0.0.1:{port}/x")
        assert ffmpeg_read(lab.proxy(), "mp4", url) != 0, url
    assert lab.canary.accepted == 0


def test_hls_segments_on_loopback_fail_the_download(lab: Lab, tmp_path: Path) -> None:
    url = lab.origin.url(f"/bad/segments/{lab.canary.port}.m3u8")
    before = lab.refused()
    assert ytdlp(url, lab.proxy(), tmp_path) is None
    assert lab.refused() > before
    before = lab.refused()
    assert ffmpeg_read(lab.proxy(), "hls", url) != 0
    assert lab.refused() > before
    assert lab.canary.accepted == 0


def test_an_hls_key_on_loopback_fails_the_download(lab: Lab, tmp_path: Path) -> None:
    # Without pycryptodomex, yt-dlp hands this stream to its own ffmpeg: the refusal must hold there too.
    url = lab.origin.url(f"/bad/key/{lab.canary.port}.m3u8")
    before = lab.refused()
    assert ytdlp(url, lab.proxy(), tmp_path) is None
    assert lab.refused() > before
    before = lab.refused()
    assert ffmpeg_read(lab.proxy(), "hls", url) != 0
    assert lab.refused() > before
    assert lab.canary.accepted == 0


def test_a_name_that_rebinds_to_loopback_is_judged_again_on_each_connection(lab: Lab) -> None:
    answers = iter([ORIGIN_HOST, "127.0.0.1"])

    async def rebinding(host: str, port: int) -> list[tuple[int, tuple[Any, ...]]]:
        return [(socket.AF_INET, (next(answers), port))]

    with EgressProxy(EgressPolicy([f"{ORIGIN_HOST}/32"]), resolver=rebinding).run_in_thread() as handle:
        first = raw_exchange(
            handle, f"GET http://rebind.test:{lab.origin.port}/files/small.bin HTTP/1.1\r\n\r\n"
        )
        second = raw_exchange(handle, f"GET http://rebind.test:{lab.canary.port}/ HTTP/1.1\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200 ") and first.endswith(SMALL)
    assert second.startswith(b"HTTP/1.1 403 ")
    assert lab.canary.accepted == 0


def test_a_refused_answer_among_allowed_ones_is_never_connected_to(lab: Lab) -> None:
    async def mixed(host: str, port: int) -> list[tuple[int, tuple[Any, ...]]]:
        return [(socket.AF_INET, ("127.0.0.1", port)), (socket.AF_INET, (ORIGIN_HOST, port))]

    with EgressProxy(EgressPolicy([f"{ORIGIN_HOST}/32"]), resolver=mixed).run_in_thread() as handle:
        answer = raw_exchange(
            handle, f"GET http://mixed.test:{lab.origin.port}/files/small.bin HTTP/1.1\r\n\r\n"
        )
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(SMALL)


# --- the ways around a proxy, closed ----------------------------------------------------------------------


def test_no_proxy_variables_are_stripped_and_ffmpeg_still_goes_through_the_guard(
    lab: Lab, control: Canary
) -> None:
    hostile = {**os.environ, "no_proxy": "*", "NO_PROXY": "127.0.0.1", "HTTP_PROXY": "", "ALL_PROXY": ""}
    env = tool_environment(hostile, lab.proxy())
    assert not {"no_proxy", "NO_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"} & env.keys()
    assert env["http_proxy"] == env["https_proxy"] == lab.proxy()
    args = [
        *ffmpeg_input_args(lab.proxy(), "mp4"),
        "-i",
        f"http://127.0.0.1:{lab.canary.port}/",
        "-f",
        "null",
        "-",
    ]
    before = lab.refused()
    assert ffmpeg(args, env=env) != 0
    assert lab.refused() == before + 1, "ffmpeg asked the guard"
    # Control: with no_proxy left in, ffmpeg goes straight to the target despite -http_proxy.
    leaky = [
        *ffmpeg_input_args(lab.proxy(), "mp4"),
        "-i",
        f"http://127.0.0.1:{control.port}/",
        "-f",
        "null",
        "-",
    ]
    ffmpeg(leaky, env={**env, "no_proxy": "127.0.0.1"})
    assert control.wait_for_any(2) > 0
    assert lab.canary.accepted == 0


def test_ytdlp_ignores_no_proxy_in_its_environment(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    before = lab.refused()
    assert ytdlp(f"http://127.0.0.1:{lab.canary.port}/v.mp4", lab.proxy(), tmp_path) is None
    assert lab.refused() > before
    assert lab.canary.accepted == 0


def test_aria2_with_no_proxy_in_its_environment_is_stripped(
    lab: Lab, tmp_path: Path, control: Canary
) -> None:
    hostile = {**os.environ, "no_proxy": "*", "NO_PROXY": "*"}
    before = lab.refused()
    assert (
        aria2(
            f"http://127.0.0.1:{lab.canary.port}/x",
            lab.proxy(),
            tmp_path,
            env=tool_environment(hostile, lab.proxy()),
        )
        != 0
    )
    assert lab.refused() == before + 1
    # Control: aria2 honours no_proxy from its environment even with --all-proxy.
    aria2(
        f"http://127.0.0.1:{control.port}/x",
        lab.proxy(),
        tmp_path,
        env={**os.environ, "no_proxy": "127.0.0.1"},
    )
    assert control.wait_for_any(2) > 0
    assert lab.canary.accepted == 0


class Aria2Rpc:
    """aria2c as the worker runs it: an RPC daemon with the guard's global options."""

    def __init__(self, proxy: str, folder: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        options = [f"--{name}={value}" for name, value in aria2_global_options(proxy).items()]
        self.process = subprocess.Popen(
            [ARIA2C, "--enable-rpc", f"--rpc-listen-port={self.port}", "--rpc-secret=s3cret", "-d", str(folder),
             "--max-tries=1", "--connect-timeout=5", "--timeout=5", "--quiet", *options],
            env=tool_environment(os.environ, proxy), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        for _ in range(100):  # up to 5 s
            with contextlib.suppress(OSError):
                self.call("aria2.getVersion")
                return
            time.sleep(0.05)
        raise RuntimeError("aria2c RPC did not start")

    def call(self, method: str, *params: Any) -> Any:
        body = json.dumps(
            {"jsonrpc": "2.0", "id": "t", "method": method, "params": ["token:s3cret", *params]}
        )
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/jsonrpc", body.encode())
        with self._opener.open(request, timeout=5) as response:
            return json.load(response)["result"]

    def download(self, url: str, options: dict[str, Any]) -> str:
        gid = self.call("aria2.addUri", [url], options)
        for _ in range(200):  # up to 10 s
            status = self.call("aria2.tellStatus", gid, ["status"])["status"]
            if status in ("complete", "error", "removed"):
                return str(status)
            time.sleep(0.05)
        return "timeout"

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def test_aria2_per_download_proxy_overrides_are_stripped(lab: Lab, tmp_path: Path, control: Canary) -> None:
    overrides = {"all-proxy": "", "no-proxy": "127.0.0.1", "http-proxy": "", "follow-torrent": "true",
                 "check-certificate": "false", "split": "2"}  # fmt: skip
    assert sanitize_aria2_download_options(overrides) == {"split": "2"}
    rpc = Aria2Rpc(lab.proxy(), tmp_path)
    try:
        sanitized = sanitize_aria2_download_options(overrides)
        assert rpc.download(f"http://127.0.0.1:{lab.canary.port}/x", sanitized) == "error"
        assert (
            rpc.download(f"http://127.0.0.1:{lab.canary.port}/x", {"all-proxy": "", **sanitized}) == "error"
        )
        # Control: the same override, unsanitized, goes around the proxy.
        rpc.download(f"http://127.0.0.1:{control.port}/x", {"no-proxy": "127.0.0.1"})
        assert control.wait_for_any(2) > 0
    finally:
        rpc.close()
    assert lab.canary.accepted == 0


def test_aria2_does_not_follow_a_torrent_to_its_peers(lab: Lab, tmp_path: Path, control: Canary) -> None:
    url = lab.origin.url(f"/evil/{lab.canary.port}.torrent")
    assert aria2(url, lab.proxy(), tmp_path) == 0, "the .torrent is saved as a plain file"
    assert (tmp_path / f"{lab.canary.port}.torrent").read_bytes().startswith(b"d8:announce")
    assert lab.canary.accepted == 0
    # Control: following the torrent, aria2 reaches the peer the tracker named, around the proxy.
    leaky = [ARIA2C, "-q", f"--all-proxy={lab.proxy()}", "--follow-torrent=true", "--seed-time=0",
             "--bt-stop-timeout=5", "-d", str(tmp_path / "bt"), lab.origin.url(f"/evil/{control.port}.torrent")]  # fmt: skip
    process = subprocess.Popen(leaky, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert control.wait_for_any(8) > 0
    finally:
        process.kill()
        process.wait(timeout=10)


def test_aria2_does_not_follow_a_metalink(lab: Lab, tmp_path: Path) -> None:
    url = lab.origin.url(f"/evil/{lab.canary.port}.meta4")
    assert aria2(url, lab.proxy(), tmp_path) == 0
    assert b"<metalink" in (tmp_path / f"{lab.canary.port}.meta4").read_bytes()
    assert lab.canary.accepted == 0


def test_ffmpeg_concat_lists_and_raw_tcp_inputs_are_refused(lab: Lab, control: Canary) -> None:
    concat = lab.origin.url(f"/evil/{lab.canary.port}.ffconcat")
    with pytest.raises(EgressBypass):
        ffmpeg_input_args(lab.proxy(), "concat")
    with pytest.raises(EgressBypass):
        assert_no_concat([*ffmpeg_input_args(lab.proxy(), "mp4"), "-f", "concat", "-safe", "0", "-i", concat])
    with pytest.raises(EgressBypass):
        assert_http_inputs(
            [*ffmpeg_input_args(lab.proxy(), "mpegts"), "-i", f"tcp://127.0.0.1:{lab.canary.port}"]
        )
    # Controls: the whitelist must allow tcp for http to work, so it stops neither of these.
    whitelist = ["-protocol_whitelist", "http,https,tcp,tls,crypto,httpproxy", "-http_proxy", lab.proxy()]
    env = tool_environment(os.environ, lab.proxy())
    ffmpeg([*whitelist, "-f", "concat", "-safe", "0", "-i", lab.origin.url(f"/evil/{control.port}.ffconcat"),
            "-f", "null", "-"], env=env)  # fmt: skip
    assert control.wait_for_any(2) == 1
    ffmpeg([*whitelist, "-f", "mpegts", "-i", f"tcp://127.0.0.1:{control.port}", "-f", "null", "-"], env=env)
    assert control.wait_for_any(2) == 2
    assert lab.canary.accepted == 0


# --- what must keep working --------------------------------------------------------------------------------


def test_every_tool_downloads_from_an_allowed_origin_through_the_guard(lab: Lab, tmp_path: Path) -> None:
    allowed = lab.guard.proxy.stats.allowed
    video = ytdlp(lab.origin.url("/files/video.mp4"), lab.proxy(), tmp_path)
    assert video is not None and video.read_bytes() == (lab.tmp / "video.mp4").read_bytes()
    assert aria2(lab.origin.url("/files/small.bin"), lab.proxy(), tmp_path) == 0
    assert (tmp_path / "small.bin").read_bytes() == SMALL
    assert (
        aria2(lab.origin.url("/files/small.bin"), lab.proxy(), tmp_path / "t", "--proxy-method=tunnel") == 0
    )
    assert (tmp_path / "t" / "small.bin").read_bytes() == SMALL
    assert ffmpeg_read(lab.proxy(), "mp4", lab.origin.url("/files/video.mp4"), str(tmp_path / "ff.mp4")) == 0
    assert ffmpeg_read(lab.proxy(), "hls", lab.origin.url("/hls/good.m3u8"), str(tmp_path / "hls.ts")) == 0
    assert (tmp_path / "ff.mp4").stat().st_size > 10_000 and (tmp_path / "hls.ts").stat().st_size > 10_000
    hls = ytdlp(lab.origin.url("/hls/good.m3u8"), lab.proxy(), tmp_path / "y")
    assert hls is not None and hls.stat().st_size > 10_000
    assert lab.guard.proxy.stats.allowed - allowed >= 8
    assert lab.canary.accepted == 0


def test_a_connect_tunnel_carries_http_to_the_origin(lab: Lab) -> None:
    inner = f"GET /files/small.bin HTTP/1.1\r\nHost: {ORIGIN_HOST}\r\nConnection: close\r\n\r\n"
    answer = raw_exchange(
        lab.guard, f"CONNECT {ORIGIN_HOST}:{lab.origin.port} HTTP/1.1\r\n\r\n", inner.encode()
    )
    established, _, rest = answer.partition(b"\r\n\r\n")
    assert established.startswith(b"HTTP/1.1 200 ")
    assert rest.startswith(b"HTTP/1.1 200 ") and rest.endswith(SMALL)


@pytest.mark.parametrize("mode", list(RelayMode))
def test_large_bodies_arrive_intact_both_ways_in_every_relay_mode(lab: Lab, mode: RelayMode) -> None:
    with EgressProxy(EgressPolicy([f"{ORIGIN_HOST}/32"]), relay_mode=mode).run_in_thread() as handle:
        answer = raw_exchange(handle, f"GET {lab.origin.url('/files/large.bin')} HTTP/1.1\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.partition(b"\r\n\r\n")[2] == LARGE
        inner = f"GET /files/large.bin HTTP/1.1\r\nHost: {ORIGIN_HOST}\r\nConnection: close\r\n\r\n"
        tunnel = f"CONNECT {ORIGIN_HOST}:{lab.origin.port} HTTP/1.1\r\n\r\n"
        answer = raw_exchange(handle, tunnel, inner.encode())
        assert answer.split(b"\r\n\r\n", 2)[2] == LARGE
        digest = hashlib.sha256(LARGE).hexdigest().encode()
        upload = f"POST {lab.origin.url('/echo')} HTTP/1.1\r\nContent-Length: {len(LARGE)}\r\n\r\n"
        assert raw_exchange(handle, upload, LARGE).endswith(digest)
        client = http.client.HTTPConnection("127.0.0.1", handle.proxy.port, timeout=10)
        chunks = (LARGE[i : i + 100_000] for i in range(0, len(LARGE), 100_000))
        auth = {"Proxy-Authorization": basic(handle.url_for("job-1"))}
        client.request("POST", lab.origin.url("/echo"), body=chunks, headers=auth, encode_chunked=True)
        response = client.getresponse()
        assert (response.status, response.read()) == (200, digest), "a chunked upload"
        client.close()


def test_a_second_request_on_a_kept_alive_connection_cannot_change_host(lab: Lab) -> None:
    first = f"GET {lab.origin.url('/files/small.bin')} HTTP/1.1\r\nHost: {ORIGIN_HOST}\r\n\r\n"
    second = f"GET http://127.0.0.1:{lab.canary.port}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    answer = raw_exchange(lab.guard, first, second.encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and b"\r\nConnection: close" in head
    assert body == SMALL, "one response, then the connection closes"
    assert lab.canary.accepted == 0


def test_requests_without_the_job_token_get_407(lab: Lab) -> None:
    for auth in ("", "Proxy-Authorization: Basic " + base64.b64encode(b"job-1:wrong").decode() + "\r\n"):
        with socket.create_connection(("127.0.0.1", lab.guard.proxy.port), timeout=10) as sock:
            sock.sendall(f"GET {lab.origin.url('/files/small.bin')} HTTP/1.1\r\n{auth}\r\n".encode())
            answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 407 ") and b"Proxy-Authenticate: Basic" in answer


def test_malformed_requests_get_400(lab: Lab) -> None:
    for request in ("GET /relative HTTP/1.1\r\n\r\n", "GET ftp://example.com/ HTTP/1.1\r\n\r\n",
                    "CONNECT 127.0.0.2 HTTP/1.1\r\n\r\n", "BREW http://[::1 HTTP/1.1\r\n\r\n"):  # fmt: skip
        assert raw_exchange(lab.guard, request).startswith(b"HTTP/1.1 400 "), request


def open_tunnel(handle: EgressProxyThread, job_id: str, port: int) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", handle.proxy.port), timeout=10)
    auth = base64.b64encode(f"{job_id}:{handle.proxy.token}".encode()).decode()
    sock.sendall(
        f"CONNECT {ORIGIN_HOST}:{port} HTTP/1.1\r\nProxy-Authorization: Basic {auth}\r\n\r\n".encode()
    )
    return sock, sock.recv(65536)


def test_a_job_holds_at_most_its_cap_of_connections(lab: Lab) -> None:
    proxy = EgressProxy(
        EgressPolicy([f"{ORIGIN_HOST}/32"]), max_connections_per_job=2, timeouts=EgressTimeouts(cap_wait=0.5)
    )
    with proxy.run_in_thread() as handle:
        held = [open_tunnel(handle, "job-a", lab.origin.port) for _ in range(2)]
        assert all(answer.startswith(b"HTTP/1.1 200 ") for _, answer in held)
        extra, answer = open_tunnel(handle, "job-a", lab.origin.port)
        extra.close()
        assert answer.startswith(b"HTTP/1.1 429 ")
        other, answer = open_tunnel(handle, "job-b", lab.origin.port)
        other.close()
        assert answer.startswith(b"HTTP/1.1 200 "), "another job has its own cap"
        # A request that finds the cap full waits for a slot (up to cap_wait), then gets it.
        threading.Timer(0.2, held[0][0].close).start()
        waited, answer = open_tunnel(handle, "job-a", lab.origin.port)
        assert answer.startswith(b"HTTP/1.1 200 ")
        for sock in (waited, held[1][0]):
            sock.close()


def relay_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "egress-relay"]


def test_stop_ends_open_tunnels_and_leaves_no_threads(lab: Lab) -> None:
    handle = EgressProxy(EgressPolicy([f"{ORIGIN_HOST}/32"])).run_in_thread()
    idle, answer = open_tunnel(handle, "job-1", lab.origin.port)
    assert answer.startswith(b"HTTP/1.1 200 ")
    busy, answer = open_tunnel(handle, "job-1", lab.origin.port)
    assert answer.startswith(b"HTTP/1.1 200 ")
    # A download the client stops reading: past the first bytes, a splice thread relays it.
    busy.sendall(f"GET /files/large.bin HTTP/1.1\r\nHost: {ORIGIN_HOST}\r\n\r\n".encode())
    received = 0
    while received < 1024 * 1024:
        received += len(busy.recv(65536))
    assert relay_threads(), "the splice relay is running"
    started = time.monotonic()
    handle.stop()
    assert idle.recv(1) == b"", "the idle tunnel was closed"
    with contextlib.suppress(ConnectionResetError):
        while busy.recv(1024 * 1024):  # what was in flight, then the end
            pass
    for sock in (idle, busy):
        sock.close()
    assert time.monotonic() - started < 5
    assert not handle.running, "the proxy's own thread ended"
    for _ in range(100):  # up to 2 s for relay threads to notice
        if not relay_threads():
            break
        time.sleep(0.02)
    assert not relay_threads()
