"""What the egress tests aim the tools at: a canary on 127.0.0.1 and [::1] that counts the
connections it accepts (it must count none), the hostile ways to spell its address, and an origin
on 127.0.0.2 whose media, playlists, redirects, torrent and Metalink all point at a canary.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import selectors
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.support.egress_clients import FFMPEG
from tests.support.loop_thread import AppThread

ORIGIN_HOST = "127.0.0.2"
SMALL = os.urandom(200_000)
LARGE = os.urandom(8 * 1024 * 1024)


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


class Origin(AppThread):
    """An aiohttp origin on 127.0.0.2 in its own thread. `{port}` routes point at a canary's port."""

    def __init__(self, folder: Path) -> None:
        super().__init__("origin", ORIGIN_HOST, timeout=15, access_log=None)
        self.folder = folder
        self.paths: list[str] = []

    def url(self, path: str) -> str:
        return f"http://{ORIGIN_HOST}:{self.port}{path}"

    def build_app(self) -> web.Application:
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
        return app

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
