"""An asyncio service (the egress proxy, the namespace bridge) on its own event loop in a thread,
for the synchronous RQ work horse."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar


class Service(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


ServiceT = TypeVar("ServiceT", bound=Service)


class LoopThread(Generic[ServiceT]):
    """A started service on its own loop in a daemon thread; `stop()` ends it (also as a context manager)."""

    def __init__(self, service: ServiceT, name: str) -> None:
        self.service = service
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(service.start(), self._loop).result(timeout=10)
        except BaseException:
            self._halt()
            raise

    def stop(self) -> None:
        if self._loop.is_closed():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.service.stop(), self._loop).result(timeout=15)
        self._halt()

    def _halt(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
