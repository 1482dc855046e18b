"""The egress guard's test lab: a canary that counts connections, a hostile origin on
127.0.0.2, and runners for the real clients (urllib, yt-dlp, aria2c, ffmpeg) pointed at a guard.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yt_dlp
from aiohttp import web
from yt_dlp.utils import DownloadError

from worker.egress.thread import EgressProxyThread
from worker.egress.tools import (
    aria2_global_options,
    assert_http_inputs,
    assert_no_concat,
    ffmpeg_input_args,
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
