"""The media origin of `make test-deploy`: tests/support/media_server.py inside a container.

It runs from haul's image (which has aiohttp and ffmpeg) with the repository's `tests/` mounted
at /app/tests, makes the test media under /tmp, adds `big.bin` (BIG_SIZE bytes, the head of the
deterministic large.bin), and serves it all on 0.0.0.0:PORT until the container stops (`/served` counts the
bytes sent per /slow/ path). The
workers reach it by its compose service name; `/slow/big.bin?rate=` throttles a download so the
test can kill containers while it runs.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from aiohttp import web

from tests.support.media_server import MediaFiles, MediaServer, make_media, sha256_of

PORT = 8000
BIG_SIZE = 64 * 1024 * 1024


class Origin(MediaServer):
    """The media server, plus `/served`: the body bytes each /slow/ path has sent so far, so
    the test can tell a resumed download from one that started over."""

    def __init__(self, media: MediaFiles) -> None:
        super().__init__(media)
        self.host, self.port = "0.0.0.0", PORT  # the compose network is the only way in

    def build_app(self) -> web.Application:
        app = super().build_app()
        app.router.add_get("/served", self._served)
        return app

    async def _served(self, _request: web.Request) -> web.Response:
        return web.json_response(dict(self.served))


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/media")
    media = make_media(folder)
    with open(folder / "large.bin", "rb") as source, open(folder / "big.bin", "wb") as out:
        out.write(source.read(BIG_SIZE))
    media.sha256["big.bin"] = sha256_of(folder / "big.bin")
    server = Origin(media)
    server.start()
    for name, digest in sorted(media.sha256.items()):
        print(f"sha256 {name} {digest}", flush=True)
    print(f"serving on port {PORT}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    server.stop()


if __name__ == "__main__":
    main()
