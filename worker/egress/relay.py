"""Moving bytes between a client socket and an origin socket, one direction at a time.

The first SPLICE_AFTER bytes of each direction go through the event loop (small requests and
responses gain nothing from splicing). After that, on Linux, the bytes go socket → pipe → socket
with `splice(2)` and never enter Python. Three modes are kept, because which is fastest depends
on the machine; `tests/bench/bench_egress.py` measures them all, and `RelayMode.default()` is the
one that won on the 2-core machines haul was measured on:

- `SPLICE_THREADS` (default): each direction in its own thread, waiting in `poll` and moving
  with non-blocking `splice`, the GIL released; the event loop is not involved while bytes flow.
- `SPLICE_LOOP`: non-blocking `splice` driven by the event loop's readiness callbacks.
- `ASYNCIO`: `sock_recv_into` / `sock_sendall` through a buffer, for platforms without splice.

Every pump ends its direction with a half-close (`shutdown(SHUT_WR)`) of the destination when the
source reaches end of file, and raises `OSError` when either side fails. Sockets stay non-blocking
throughout and are never closed by a pump: `Relay.close` closes them once both directions ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import fcntl
import os
import select
import socket
import threading

# 1 MiB pipes (the unprivileged maximum) cost about half the CPU per MB of 64 KiB ones, measured.
# Past a user's pipe quota (fs.pipe-user-pages-soft, 64 MiB) the kernel refuses the resize and
# the pipe stays small (down to two pages): slower, still correct.
PIPE_SIZE = 1024 * 1024
CHUNK = PIPE_SIZE
# A thread pump checks `stopping` this often even when its sockets are silent.
POLL_MS = 1000
SPLICE_AFTER = 256 * 1024
_SPLICE_FLAGS = getattr(os, "SPLICE_F_MOVE", 0) | getattr(os, "SPLICE_F_NONBLOCK", 0)


class RelayMode(enum.StrEnum):
    SPLICE_THREADS = "splice-threads"
    SPLICE_LOOP = "splice-loop"
    ASYNCIO = "asyncio"

    @classmethod
    def default(cls) -> RelayMode:
        return cls.SPLICE_THREADS if hasattr(os, "splice") else cls.ASYNCIO


def half_close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)


def abort(*socks: socket.socket) -> None:
    """Wake every pump blocked on these sockets; they end with EOF or an error."""
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _pipe() -> tuple[int, int]:
    read_end, write_end = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    return read_end, write_end


def _splice_blocking(src: socket.socket, dst: socket.socket, stopping: threading.Event) -> int:
    """One direction in the calling thread; returns the bytes moved."""
    read_end, write_end = _pipe()
    src_fd, dst_fd = src.fileno(), dst.fileno()
    readable, writable = select.poll(), select.poll()
    readable.register(src_fd, select.POLLIN)
    writable.register(dst_fd, select.POLLOUT)
    moved = 0
    try:
        while not stopping.is_set():
            try:
                count = os.splice(src_fd, write_end, CHUNK, flags=_SPLICE_FLAGS)
            except BlockingIOError:
                readable.poll(POLL_MS)
                continue
            if count == 0:
                half_close(dst)
                return moved
            moved += count
            while count and not stopping.is_set():
                try:
                    count -= os.splice(read_end, dst_fd, count, flags=_SPLICE_FLAGS)
                except BlockingIOError:
                    writable.poll(POLL_MS)
        raise ConnectionAbortedError("relay stopped")
    finally:
        os.close(read_end)
        os.close(write_end)


async def _pump_splice_threads(src: socket.socket, dst: socket.socket, stopping: threading.Event) -> int:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()

    def settle(result: int | BaseException) -> None:
        if done.done():
            return
        if isinstance(result, BaseException):
            done.set_exception(result)
        else:
            done.set_result(result)

    def run() -> None:
        try:
            result: int | BaseException = _splice_blocking(src, dst, stopping)
        except OSError as exc:
            result = exc
        with contextlib.suppress(RuntimeError):  # the loop is already closed: nobody waits
            loop.call_soon_threadsafe(settle, result)

    try:
        threading.Thread(target=run, name="egress-relay", daemon=True).start()
    except RuntimeError:  # no more threads: relay this one on the loop instead
        return (await _pump_asyncio(src, dst))[0]
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        # The thread still uses both file descriptors: wake it and wait for it, so that nobody
        # closes (and the kernel reuses) a descriptor it is about to splice.
        stopping.set()
        abort(src, dst)
        await asyncio.wait({done}, timeout=2 * POLL_MS / 1000)
        done.cancel()
        raise


async def _pump_splice_loop(src: socket.socket, dst: socket.socket) -> int:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    read_end, write_end = _pipe()
    src_fd, dst_fd = src.fileno(), dst.fileno()
    state = {"pending": 0, "moved": 0}

    def finish(result: int | BaseException) -> None:
        loop.remove_reader(src_fd)
        loop.remove_writer(dst_fd)
        if not done.done():
            if isinstance(result, BaseException):
                done.set_exception(result)
            else:
                done.set_result(result)

    def drain() -> bool:
        """Empties the pipe into dst; False when dst is full and the pipe still holds bytes."""
        while state["pending"]:
            try:
                state["pending"] -= os.splice(read_end, dst_fd, state["pending"], flags=_SPLICE_FLAGS)
            except BlockingIOError:
                return False
        return True

    def on_readable() -> None:
        try:
            for _ in range(16):  # then let other connections have a turn
                try:
                    count = os.splice(src_fd, write_end, CHUNK, flags=_SPLICE_FLAGS)
                except BlockingIOError:
                    return
                if count == 0:
                    half_close(dst)
                    finish(state["moved"])
                    return
                state["pending"] += count
                state["moved"] += count
                if not drain():
                    loop.remove_reader(src_fd)
                    loop.add_writer(dst_fd, on_writable)
                    return
        except OSError as exc:
            finish(exc)

    def on_writable() -> None:
        try:
            if drain():
                loop.remove_writer(dst_fd)
                loop.add_reader(src_fd, on_readable)
        except OSError as exc:
            finish(exc)

    loop.add_reader(src_fd, on_readable)
    try:
        return await done
    finally:
        loop.remove_reader(src_fd)
        loop.remove_writer(dst_fd)
        os.close(read_end)
        os.close(write_end)


async def _pump_asyncio(src: socket.socket, dst: socket.socket, limit: int | None = None) -> tuple[int, bool]:
    """Copy through a buffer until src ends, then half-close dst: (bytes moved, True). With `limit`,
    stop once at least `limit` bytes have moved: (bytes moved, False), the rest for the caller."""
    loop = asyncio.get_running_loop()
    buffer = bytearray(256 * 1024)
    view = memoryview(buffer)
    moved = 0
    while limit is None or moved < limit:
        count = await loop.sock_recv_into(src, buffer)
        if count == 0:
            half_close(dst)
            return moved, True
        await loop.sock_sendall(dst, view[:count])
        moved += count
    return moved, False


async def pump(mode: RelayMode, src: socket.socket, dst: socket.socket, stopping: threading.Event) -> int:
    """Copy src to dst until src ends (then half-close dst); returns the bytes moved.

    The first SPLICE_AFTER bytes always go through the loop: most requests, responses and TLS
    handshakes are small, and a splice pipe (and thread) costs more than it saves on them.
    `stopping` ends a thread pump within POLL_MS even if its sockets could not be shut down."""
    moved, ended = await _pump_asyncio(src, dst, None if mode is RelayMode.ASYNCIO else SPLICE_AFTER)
    if ended:
        return moved
    if mode is RelayMode.SPLICE_THREADS:
        return moved + await _pump_splice_threads(src, dst, stopping)
    return moved + await _pump_splice_loop(src, dst)


class Relay:
    """The two directions between a client and an origin. It owns both sockets and closes them."""

    def __init__(self, mode: RelayMode, client: socket.socket, upstream: socket.socket) -> None:
        self.mode, self.client, self.upstream = mode, client, upstream
        self.stopping = threading.Event()
        self.moved = {"up": 0, "down": 0}
        self._pumps: list[asyncio.Task[int]] = []

    def start(self, direction: str) -> asyncio.Task[int]:
        """Start copying `up` (client to origin) or `down` (origin to client)."""
        src, dst = (self.client, self.upstream) if direction == "up" else (self.upstream, self.client)

        async def run() -> int:
            moved = await pump(self.mode, src, dst, self.stopping)
            self.moved[direction] = moved
            return moved

        task = asyncio.create_task(run(), name=f"egress-{direction}")
        self._pumps.append(task)
        return task

    async def wait(self, grace: float) -> None:
        """Until both directions end, or one fails, or `grace` seconds after the first one ended."""
        done, pending = await asyncio.wait(self._pumps, return_when=asyncio.FIRST_COMPLETED)
        if pending and not any(task.cancelled() or task.exception() for task in done):
            await asyncio.wait(pending, timeout=grace)

    def abort(self) -> None:
        self.stopping.set()
        abort(self.client, self.upstream)

    async def close(self) -> None:
        """End both directions (if still running) and close both sockets. A cancellation (the
        proxy stopping) is held back until the pumps are done: a thread pump may still be using
        the descriptors, which must not be closed (and reused) under it."""
        self.abort()
        for task in self._pumps:
            if not task.done():
                task.cancel()
        deadline = asyncio.get_running_loop().time() + 2 * POLL_MS / 1000 + 1
        cancelled = False
        while (pending := [t for t in self._pumps if not t.done()]) and (
            left := deadline - asyncio.get_running_loop().time()
        ) > 0:
            try:
                await asyncio.wait(pending, timeout=left)
            except asyncio.CancelledError:
                cancelled = True
        for task in self._pumps:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: a failed direction is an ordinary end here
        self.client.close()
        self.upstream.close()
        if cancelled:
            raise asyncio.CancelledError
