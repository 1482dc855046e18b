"""Runners for the real clients the egress guard must hold (urllib, yt-dlp, aria2c, ffmpeg),
pointed at a guard, and a raw exchange with the proxy itself.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yt_dlp
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
TOOL_TIMEOUT = 30


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
