"""A local media origin for the worker tests: real media made by ffmpeg, served by aiohttp.

It runs its own event loop in a thread, so tests can block (on a child process, say) while it
serves. Every request is logged with its Range header, so a test can prove a resume asked for
the bytes after the ones already saved.

Routes:
- `/video.mp4`: a few seconds of H.264 + AAC; `/hls/index.m3u8`: the same as HLS segments;
- `/large.bin`: LARGE_SIZE bytes with Range support (aiohttp's static handler answers 206);
- `/medium.bin`: MEDIUM_SIZE bytes, the head of large.bin, with Range support;
- `/slow/{name}`: a static file throttled to `?rate=` bytes/s (else to `slow_rate`, which a
  test may change while a download runs), honouring Range; `served` counts the bytes it sent
  per path, so a test can tell a resumed download from one that started over;
- `/redirect/{n}`: n redirects, then `/video.mp4`; `/redirect-to?url=`: one redirect anywhere;
- `/hostile-name`: a body with a Content-Disposition full of path tricks;
- `/status/{code}`: an empty answer with that status; `/endless`: a chunked body that never ends;
- `/stall`: STALL_BYTES of a body that claims to be much longer, then silence;
- `/poster?src=`: an HTML page whose `<video>` plays `/video.mp4` with `src` as its poster (yt-dlp's
  generic extractor reports it as the `thumbnail`); `/thumb.jpg`: a real small JPEG (made by
  ffmpeg on first request); `/thumb.svg`: an SVG with a script; `/thumb-html.jpg`: an HTML page
  named like a JPEG; `/thumb-large.jpg`: a body that starts like a JPEG and runs to
  LARGE_THUMBNAIL_SIZE bytes, chunked (no Content-Length).

Collections (the text comes from tests/support/feeds.py):
- `/audio/episode-{n}.m4a`: EPISODES short AAC files, a different tone each (so different bytes);
- `/feeds/podcast.rss`: a podcast feed of those episodes, with titles and guids;
- `/feeds/videos.html`: a page with VIDEO_PAGE_CLIPS `<video>` elements playing `/clips/{n}.mp4`
  (each the bytes of `/video.mp4`; the request log tells which one was fetched);
- `/feeds/growing.rss`: a feed that gains an item each time a test calls `add_feed_item()`;
- `/feeds/large.rss`: LARGE_FEED_ENTRIES entries; `/feeds/slow.rss?rate=`: the same, sent at
  `rate` bytes/s (else at `slow_rate`, read as each request starts; counted in `served`); `/feeds/malformed.rss`: a feed cut off mid-item;
- `/feeds/slow-entries.rss?count=`: `count` entries whose enclosures are
  `/slow-entries/{n}/medium.bin`, served like `/slow/medium.bin` (at `slow_rate`, counted in
  `served` under each entry's own path), so a test can hold a collection's downloads mid-transfer;
  a path in `missing` answers 404 until the test takes it out;
- `/feeds/hostile.rss?port=`: good episodes around entries at `file://`, `ftp://`, credentials, a
  private address, 127.0.0.1 and `localhost` on `port` (a canary's).

`host` puts the server on another loopback address than 127.0.0.1 (127.0.0.2, say), so a test can
allow it through an egress guard while 127.0.0.1 and `localhost` stay refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tests.support import feeds
from tests.support.loop_thread import AppThread
from tests.support.process import free_port

LARGE_SIZE = 200 * 1024 * 1024
MEDIUM_SIZE = 24 * 1024 * 1024
MEDIA_SECONDS = 4
CHUNK = 64 * 1024
STALL_BYTES = 256 * 1024
STALL_SECONDS = 300
LARGE_THUMBNAIL_SIZE = 3 * 1024 * 1024
VIDEO_PAGE_CLIPS = 3
HOSTILE_DISPOSITION = (
    "attachment; filename=\"../../etc/evil.mp4\"; filename*=UTF-8''..%2F..%2F%E2%80%AEevil%00.mp4"
)


@dataclass(frozen=True)
class LoggedRequest:
    path: str
    range: str | None


@dataclass
class MediaFiles:
    folder: Path
    sha256: dict[str, str] = field(default_factory=dict)


def make_media(folder: Path) -> MediaFiles:
    """Make the test media once: an mp4, its HLS version, and a large deterministic file."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise RuntimeError("ffmpeg is missing: run `make setup` as root (it installs the Debian package)")
    folder.mkdir(parents=True, exist_ok=True)
    video = folder / "video.mp4"
    subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc=size=320x240:rate=25:duration={MEDIA_SECONDS}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={MEDIA_SECONDS}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
         "-c:a", "aac", "-b:a", "64k", "-shortest", "-movflags", "+faststart", str(video)],
        check=True, timeout=120,
    )  # fmt: skip
    hls = folder / "hls"
    hls.mkdir(exist_ok=True)
    subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-i", str(video), "-c", "copy",
         "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
         "-hls_segment_filename", str(hls / "segment%03d.ts"), str(hls / "index.m3u8")],
        check=True, timeout=120,
    )  # fmt: skip
    block = hashlib.sha512(b"haul").digest() * (1024 * 1024 // 64)  # 1 MiB, deterministic
    with open(folder / "large.bin", "wb") as out:
        for index in range(LARGE_SIZE // len(block)):
            out.write(index.to_bytes(8, "big") + block[8:])
    with open(folder / "large.bin", "rb") as source, open(folder / "medium.bin", "wb") as out:
        out.write(source.read(MEDIUM_SIZE))
    episodes = _make_episodes(ffmpeg, folder / "audio")
    files = MediaFiles(folder)
    for name in ("video.mp4", "medium.bin", "large.bin", *episodes):
        files.sha256[name] = sha256_of(folder / name)
    return files


def _make_episodes(ffmpeg: str, folder: Path) -> list[str]:
    """The podcast's episodes: one second of a different tone each, in one ffmpeg run."""
    folder.mkdir(exist_ok=True)
    command = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y"]
    names = []
    for number in range(1, feeds.EPISODES + 1):
        command += ["-f", "lavfi", "-i", f"sine=frequency={220 * number}:duration=1"]
    for number in range(1, feeds.EPISODES + 1):
        name = f"audio/episode-{number}.m4a"
        command += ["-map", f"{number - 1}:a", "-c:a", "aac", "-b:a", "48k", str(folder.parent / name)]
        names.append(name)
    subprocess.run(command, check=True, timeout=120)
    return names


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for chunk in iter(lambda: source.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    if not header or not header.startswith("bytes="):
        return None
    start_text, _, end_text = header[6:].split(",")[0].partition("-")
    if not start_text:
        return None
    start = int(start_text)
    end = int(end_text) if end_text else size - 1
    return (start, min(end, size - 1)) if start < size else None


class MediaServer(AppThread):
    def __init__(self, media: MediaFiles, host: str = "127.0.0.1") -> None:
        super().__init__("media-server", host, free_port(), timeout=30, access_log=None, shutdown_timeout=1.0)
        self.media = media
        self.base_url = f"http://{host}:{self.port}"
        self.requests: list[LoggedRequest] = []
        # Bytes per second for /slow/ requests without ?rate=; tests may change it mid-download.
        self.slow_rate = 1024 * 1024
        # Body bytes sent by /slow/ answers, per request path.
        self.served: Counter[str] = Counter()
        # /slow/ and /slow-entries/ paths that answer 404 while listed here.
        self.missing: set[str] = set()
        # /feeds/growing.rss, newest last; `add_feed_item` appends (a list append is atomic).
        self.growing_items = [feeds.episode(self.base_url, n) for n in range(1, feeds.GROWING_FEED_START + 1)]

    def add_feed_item(self) -> feeds.FeedItem:
        """One more entry in /feeds/growing.rss, seen by the next request; returns it."""
        item = feeds.episode(self.base_url, len(self.growing_items) + 1)
        self.growing_items.append(item)
        return item

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def mark(self) -> int:
        """A position in the request log; pass it to `requests_for` to see only later requests."""
        return len(self.requests)

    def requests_for(self, path: str, since: int = 0) -> list[LoggedRequest]:
        return [r for r in self.requests[since:] if r.path == path]

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._log])
        folder = self.media.folder
        app.router.add_get("/redirect/{n}", self._redirect)
        app.router.add_get("/redirect-to", self._redirect_to)
        app.router.add_get("/hostile-name", self._hostile_name)
        app.router.add_get("/status/{code}", self._status)
        app.router.add_get("/endless", self._endless)
        app.router.add_get("/stall", self._stall)
        app.router.add_get("/slow/{name}", self._slow)
        app.router.add_get("/slow-entries/{n:[0-9]+}/{name}", self._slow)
        app.router.add_get("/poster", self._poster)
        app.router.add_get("/thumb.jpg", self._thumb_jpeg)
        app.router.add_get("/thumb.svg", self._thumb_svg)
        app.router.add_get("/thumb-html.jpg", self._thumb_html)
        app.router.add_get("/thumb-large.jpg", self._thumb_large)
        app.router.add_static("/hls", folder / "hls")
        app.router.add_get("/audio/{name}", self._episode)
        app.router.add_get("/clips/{n:[0-9]+}.mp4", self._clip)
        app.router.add_get("/feeds/podcast.rss", self._podcast)
        app.router.add_get("/feeds/videos.html", self._video_page)
        app.router.add_get("/feeds/growing.rss", self._growing)
        app.router.add_get("/feeds/large.rss", self._large_feed)
        app.router.add_get("/feeds/slow.rss", self._slow_feed)
        app.router.add_get("/feeds/slow-entries.rss", self._slow_entries_feed)
        app.router.add_get("/feeds/malformed.rss", self._malformed_feed)
        app.router.add_get("/feeds/hostile.rss", self._hostile_feed)
        for name in ("video.mp4", "medium.bin", "large.bin"):
            app.router.add_get(f"/{name}", self._file)
        return app

    @web.middleware
    async def _log(self, request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
        self.requests.append(LoggedRequest(request.path, request.headers.get("Range")))
        return await handler(request)

    async def _file(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(self.media.folder / request.path.lstrip("/"))

    async def _episode(self, request: web.Request) -> web.FileResponse:
        # A handler, not a static route: a server given media made elsewhere may have no audio/.
        path = self.media.folder / "audio" / request.match_info["name"]
        if not path.is_file() or path.parent.name != "audio":
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    async def _clip(self, _request: web.Request) -> web.FileResponse:
        return web.FileResponse(self.media.folder / "video.mp4")

    @staticmethod
    def _feed(text: str) -> web.Response:
        return web.Response(text=text, content_type="application/rss+xml")

    async def _podcast(self, _request: web.Request) -> web.Response:
        return self._feed(feeds.rss("Test podcast", feeds.podcast_items(self.base_url)))

    async def _video_page(self, _request: web.Request) -> web.Response:
        sources = [f"/clips/{n}.mp4" for n in range(1, VIDEO_PAGE_CLIPS + 1)]
        return web.Response(text=feeds.video_page("Several videos", sources), content_type="text/html")

    async def _growing(self, _request: web.Request) -> web.Response:
        return self._feed(feeds.rss("Growing feed", list(self.growing_items)))

    async def _large_feed(self, _request: web.Request) -> web.Response:
        items = feeds.numbered_items(self.base_url, feeds.LARGE_FEED_ENTRIES)
        return self._feed(feeds.rss("Large feed", items))

    async def _slow_feed(self, request: web.Request) -> web.StreamResponse:
        body = feeds.rss("Slow feed", feeds.numbered_items(self.base_url, feeds.LARGE_FEED_ENTRIES)).encode()
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        response.content_length = len(body)
        await response.prepare(request)
        tick, rate = 0.05, max(1024, int(request.query.get("rate", self.slow_rate)))
        for start in range(0, len(body), int(rate * tick)):  # ends early if the client goes away
            piece = body[start : start + int(rate * tick)]
            await response.write(piece)
            self.served[request.path] += len(piece)
            await asyncio.sleep(tick)
        await response.write_eof()
        return response

    async def _slow_entries_feed(self, request: web.Request) -> web.Response:
        items = feeds.slow_items(self.base_url, min(100, int(request.query.get("count", "4"))))
        return self._feed(feeds.rss("Slow entries", items))

    async def _malformed_feed(self, _request: web.Request) -> web.Response:
        return self._feed(feeds.MALFORMED_FEED)

    async def _hostile_feed(self, request: web.Request) -> web.Response:
        items = feeds.hostile_items(self.base_url, int(request.query["port"]))
        return self._feed(feeds.rss("Hostile feed", items))

    async def _redirect(self, request: web.Request) -> web.Response:
        remaining = int(request.match_info["n"])
        raise web.HTTPFound("/video.mp4" if remaining <= 0 else f"/redirect/{remaining - 1}")

    async def _redirect_to(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["url"])

    async def _hostile_name(self, _request: web.Request) -> web.Response:
        return web.Response(body=b"hostile", headers={"Content-Disposition": HOSTILE_DISPOSITION})

    async def _status(self, request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]))

    async def _endless(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        chunk = b"\0" * CHUNK
        while True:  # ends when the client goes away (the write raises)
            await response.write(chunk)

    async def _stall(self, request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(100 * STALL_BYTES)}
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        await response.write(b"\1" * STALL_BYTES)
        await asyncio.sleep(STALL_SECONDS)  # the client gives up (or is stopped) long before
        return response

    async def _poster(self, request: web.Request) -> web.Response:
        poster = html.escape(request.query.get("src", ""), quote=True)
        page = (
            "<!doctype html><html><head><title>Poster page</title></head><body>"
            f'<video controls poster="{poster}"><source src="/video.mp4" type="video/mp4"></video>'
            "</body></html>"
        )
        return web.Response(text=page, content_type="text/html")

    async def _thumb_jpeg(self, _request: web.Request) -> web.FileResponse:
        return web.FileResponse(await asyncio.to_thread(thumbnail_jpeg, self.media.folder))

    async def _thumb_svg(self, _request: web.Request) -> web.Response:
        svg = '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="9"><script>alert(1)</script></svg>'
        return web.Response(text=svg, content_type="image/svg+xml")

    async def _thumb_html(self, _request: web.Request) -> web.Response:
        page = "<!doctype html><html><body><script>alert(1)</script></body></html>"
        return web.Response(text=page, content_type="image/jpeg")

    async def _thumb_large(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
        for _ in range(LARGE_THUMBNAIL_SIZE // CHUNK):
            await response.write(b"\x01" * CHUNK)
        await response.write_eof()
        return response

    async def _slow(self, request: web.Request) -> web.StreamResponse:
        path = self.media.folder / request.match_info["name"]
        if not path.is_file() or path.parent != self.media.folder or request.path in self.missing:
            raise web.HTTPNotFound()
        fixed_rate = request.query.get("rate")
        size = path.stat().st_size
        span = _byte_range(request.headers.get("Range"), size)
        start, end = span if span else (0, size - 1)
        headers = {
            "Accept-Ranges": "bytes",
            "Content-Length": str(end - start + 1),
            "Content-Type": "video/mp4",
        }
        if span:
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        response = web.StreamResponse(status=206 if span else 200, headers=headers)
        await response.prepare(request)
        tick = 0.05
        with open(path, "rb") as source:  # noqa: ASYNC230 - a test origin reading a few KB per tick
            source.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                rate = max(1024, int(fixed_rate) if fixed_rate else self.slow_rate)
                piece = source.read(min(remaining, max(1, int(rate * tick))))
                await response.write(piece)
                if request.method != "HEAD":  # aiohttp sends no body to a HEAD
                    self.served[request.path] += len(piece)
                remaining -= len(piece)
                await asyncio.sleep(tick)
        await response.write_eof()
        return response


def thumbnail_jpeg(folder: Path) -> Path:
    """A real 160x90 JPEG in `folder`, made once."""
    path = folder / "thumb.jpg"
    if not path.exists():
        partial = folder / "thumb.partial.jpg"
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x90",
             "-frames:v", "1", str(partial)],
            check=True, timeout=60,
        )  # fmt: skip
        partial.replace(path)
    return path


def serve(folder: Path, host: str = "127.0.0.1") -> Iterator[MediaServer]:
    """Make the media in `folder` and serve it on `host` until the generator is closed."""
    yield from serve_files(make_media(folder), host)


def serve_files(files: MediaFiles, host: str = "127.0.0.1") -> Iterator[MediaServer]:
    """Serve media already in place until the generator is closed."""
    server = MediaServer(files, host)
    server.start()
    try:
        yield server
    finally:
        server.stop()
