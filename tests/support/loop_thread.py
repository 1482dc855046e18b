"""An aiohttp app served from a daemon thread with its own event loop, so a synchronous test can
block (on a child process, say) while the app answers."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiohttp import web


class AppThread:
    """Serves the app `build_app()` returns on host:port; `start()` and `stop()` run the thread.

    A subclass says what the app is; `port` is the one it listens on (a free one for 0).
    """

    def __init__(self, name: str, host: str, port: int = 0, *, timeout: float, **runner: Any) -> None:
        self.host, self.port = host, port
        self._timeout = timeout
        self._runner_options = runner
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._runner: web.AppRunner | None = None

    def build_app(self) -> web.Application:
        raise NotImplementedError

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=self._timeout)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=self._timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self.build_app(), **self._runner_options)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = int(self._runner.addresses[0][1])
