"""The origin of `make bench-latency`: files over HTTP, each request's time written down.

It runs as a process of its own (`Origin` starts and stops it), so its CPU is nobody's in the
figures and its clock readings wait behind nothing the benchmark does. Routes:

- `/f/{key}/{name}`: the file `name` of the folder, with Range, as `video/mp4` for a `.mp4` and
  `application/octet-stream` otherwise; `?rate=` limits it to that many bytes/s. `key` only
  makes each download a URL of its own (the download archive would skip a repeat);
- `/_requests?since=n`: the requests seen, from the n-th on, as JSON: key, name, method, range,
  and the wall-clock times the request arrived and its first body byte was written.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from aiohttp import web

CHUNK = 64 * 1024
PACE_STEP = 0.02  # the rate limit sleeps in steps of about this long


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) of a `bytes=a-b` / `bytes=a-` / `bytes=-n` header, else None (the whole file)."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first_text, _, last_text = header[6:].partition("-")
    if first_text == "":
        length = int(last_text or 0)
        return (max(0, size - length), size - 1) if length else None
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text else size - 1
    return (first, last) if first <= last < size else None


class OriginApp:
    def __init__(self, folder: Path) -> None:
        self._files = {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}
        self.requests: list[dict[str, Any]] = []

    def build(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/_requests", self._requests)
        app.router.add_route("*", "/f/{key}/{name}", self._file)
        return app

    async def _requests(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        return web.json_response(self.requests[since:])

    async def _file(self, request: web.Request) -> web.StreamResponse:
        arrived = time.time()
        name = request.match_info["name"]
        body = self._files.get(name)
        record: dict[str, Any] = {
            "key": request.match_info["key"],
            "name": name,
            "method": request.method,
            "range": request.headers.get("Range"),
            "arrived": arrived,
            "first_byte": None,
        }
        self.requests.append(record)
        if body is None:
            raise web.HTTPNotFound()
        size = len(body)
        span = _byte_range(request.headers.get("Range"), size)
        first, last = span if span is not None else (0, size - 1)
        response = web.StreamResponse(status=206 if span is not None else 200)
        response.content_type = "video/mp4" if name.endswith(".mp4") else "application/octet-stream"
        response.content_length = last - first + 1
        response.headers["Accept-Ranges"] = "bytes"
        if span is not None:
            response.headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        rate = float(request.query.get("rate", "0"))
        started = time.monotonic()
        sent = 0
        view = memoryview(body)[first : last + 1]
        while sent < len(view):
            if rate > 0:
                due = started + sent / rate
                if (wait := due - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
            step = len(view) if rate <= 0 else max(CHUNK, int(rate * PACE_STEP))
            chunk = view[sent : sent + step]
            if record["first_byte"] is None:
                record["first_byte"] = time.time()
            try:
                await response.write(bytes(chunk))
            except ConnectionError:  # the client read what it wanted (yt-dlp's probe reads the headers)
                return response
            sent += len(chunk)
        await response.write_eof()
        return response


@dataclass
class Origin:
    """The origin as a child process on `host`, serving `folder`."""

    folder: Path
    host: str = "127.0.0.2"
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0

    def start(self, timeout: float = 20.0) -> None:
        with socket.socket() as probe:
            probe.bind((self.host, 0))
            self.port = int(probe.getsockname()[1])
        args = [
            sys.executable,
            "-m",
            "tests.bench.latency_origin",
            str(self.folder),
            self.host,
            str(self.port),
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the origin exited with {self.proc.returncode}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.5):
                return
            time.sleep(0.05)
        raise RuntimeError("the origin did not start listening")

    def url(self, key: str, name: str, rate: int = 0) -> str:
        query = f"?rate={rate}" if rate else ""
        return f"http://{self.host}:{self.port}/f/{key}/{name}{query}"

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        response = requests.get(f"http://{self.host}:{self.port}/_requests?since={since}", timeout=10)
        response.raise_for_status()
        return list(response.json())

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def first_byte_by_key(records: list[dict[str, Any]]) -> dict[str, float]:
    """key -> the earliest time the origin wrote a body byte for it."""
    found: dict[str, float] = {}
    for record in records:
        at = record.get("first_byte")
        if at is not None and (record["key"] not in found or at < found[record["key"]]):
            found[record["key"]] = float(at)
    return found


def last_request_by_key(records: list[dict[str, Any]]) -> dict[str, float]:
    """key -> when the last GET for it arrived: the download itself, where a probe came first."""
    found: dict[str, float] = {}
    for record in records:
        if record.get("method") == "GET":
            found[record["key"]] = max(found.get(record["key"], 0.0), float(record["arrived"]))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    args = parser.parse_args()
    web.run_app(OriginApp(args.folder).build(), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
