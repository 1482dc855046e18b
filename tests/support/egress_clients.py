"""Runners for the real clients the egress guard must hold (urllib, yt-dlp, aria2c, ffmpeg),
set up from a job's `ToolEgress` as the worker sets them up, and a raw exchange with the proxy.
"""

from __future__ import annotations

import base64
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

from worker.aria2d import Aria2Daemon
from worker.egress.proxy import EgressProxyThread
from worker.egress.tools import ToolEgress

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
ARIA2C = shutil.which("aria2c") or "/usr/bin/aria2c"
TOOL_TIMEOUT = 30


def basic(proxy_url: str) -> str:
    credentials = proxy_url.split("//", 1)[1].split("@", 1)[0]
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def raw_exchange(handle: EgressProxyThread, request: str, then: bytes = b"") -> bytes:
    """Send `request` (with this job's credentials) to the proxy; everything it answers until EOF."""
    head = request.replace(
        "\r\n\r\n", f"\r\nProxy-Authorization: {basic(handle.proxy.url_for('job-1'))}\r\n\r\n", 1
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


def ytdlp(url: str, egress: ToolEgress, folder: Path) -> Path | None:
    """The downloaded file, or None when yt-dlp failed."""
    options = {"quiet": True, "noprogress": True, "logger": _Quiet(), "retries": 0, "fragment_retries": 0,
               "extractor_retries": 0, "socket_timeout": 10, "cachedir": False, "noplaylist": True,
               "outtmpl": str(folder / "yt.%(ext)s")}  # fmt: skip
    try:
        with yt_dlp.YoutubeDL(egress.ytdlp_options(options)) as ydl:
            info = ydl.extract_info(url, download=True)
    except DownloadError:
        return None
    return Path(info["requested_downloads"][0]["filepath"])


def aria2(url: str, egress: ToolEgress, folder: Path, *extra: str, env: dict[str, str] | None = None) -> int:
    """aria2c with the global options and environment the job's daemon gets (worker.aria2d)."""
    command = [ARIA2C, "-q", "--max-tries=1", "--retry-wait=0", "--connect-timeout=5", "--timeout=5",
               "--file-allocation=none", "--allow-overwrite=true", "-d", str(folder), *extra, url]  # fmt: skip
    command[1:1] = [f"--{name}={value}" for name, value in egress.aria2_global_options().items()]
    env = env if env is not None else egress.tool_environment(os.environ)
    return subprocess.run(command, env=env, capture_output=True, timeout=TOOL_TIMEOUT).returncode


def aria2_outcome(daemon: Aria2Daemon, url: str, options: dict[str, Any]) -> str:
    """How the job's own aria2c daemon ended a download added with `options`."""
    client = daemon.client()
    gid = client.add_uri(url, options)
    for _ in range(200):  # up to 10 s
        status = str(client.tell_status(gid, ["status"]).get("status"))
        if status in ("complete", "error", "removed"):
            return status
        time.sleep(0.05)
    return "timeout"


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


def ytdlp_ffmpeg_environment(egress: ToolEgress, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the ffmpeg yt-dlp starts in a job: the job's own, scrubbed by `egress`,
    with the proxy variables yt-dlp adds for it (its FFmpegFD sets both spellings)."""
    env = dict(os.environ if base is None else base)
    egress.scrub_process_environment(env)
    proxy = egress.proxy_url or ""
    return {**env, "http_proxy": proxy, "HTTP_PROXY": proxy}


def ffmpeg_read(egress: ToolEgress, input_format: str, url: str, out: str = "-") -> int:
    """ffmpeg reading `url` as the one yt-dlp starts in a job: its proxy from its environment."""
    sink = ["-f", "null", "-"] if out == "-" else ["-c", "copy", out]
    return ffmpeg(["-f", input_format, "-i", url, *sink], env=ytdlp_ffmpeg_environment(egress))
