"""aria2 for plain files: several connections per download, resumed across attempts and restarts.

Every attempt of a job writes `TMP_DIR/{jobId}/download.part` under the same aria2 GID, derived
from that folder, so a later attempt, or the same one after aria2c was restarted, adds the
download again and aria2 fetches only the ranges its `.aria2` control file does not record.

aria2 does not tell what the server called the file, so the engine asks the server itself
(worker.engines.probe, through the same proxy as aria2) while aria2 downloads.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from haul.contract.events import JobSpec
from worker.aria2d import Aria2Daemon, Aria2RpcError, Aria2Unavailable
from worker.egress.tools import ToolEgress
from worker.engines.base import Downloaded, DownloadFailed, OnSample, StopCheck, StopRequested
from worker.engines.errors import NAME_NOT_FOUND, http_failure
from worker.engines.probe import PROBE_TIMEOUT, Probe, name_and_extension, probe
from worker.samples import Sample, from_aria2

OUT_NAME = "download.part"
CONTROL_SUFFIX = ".aria2"
STATUS_KEYS = ["status", "totalLength", "completedLength", "downloadSpeed", "errorCode", "errorMessage"]
# A stop request must be honoured within 2 s; removal usually takes a few milliseconds.
REMOVE_TIMEOUT = 1.5
# How many times in a row one run re-adds its download (restarting aria2c) before giving up retryably.
DAEMON_RESTARTS = 3
# The first status reads come quickly: a small file is done within milliseconds, and the first
# `downloading` reading is what a user waits for. Then every poll interval, as before.
FIRST_POLL = 0.01

HTTP_STATUS = re.compile(r"status=(\d{3})")
NETWORK_CODES = frozenset({1, 2, 5, 6, 19})  # unknown, timeout, too slow, network, name resolution


def gid_for(work_dir: Path) -> str:
    """aria2's 16-hex-digit GID for the job whose folder is `work_dir` (TMP_DIR/{jobId})."""
    return hashlib.sha256(f"haul:{work_dir.resolve()}".encode()).hexdigest()[:16]


def classify(code: int, message: str) -> DownloadFailed:
    """A stable code for aria2's errorCode, and whether another attempt could help."""
    text = f"aria2 error {code}: {message}" if message else f"aria2 error {code}"
    if code == 3:
        return DownloadFailed("HTTP_404", text, retryable=False)
    if code in (22, 29):  # an unexpected HTTP status; 29 is aria2's name for 503 after its retries
        status = HTTP_STATUS.search(message)
        number = int(status.group(1)) if status else 503 if code == 29 else 0
        if number:
            return http_failure(number, text)
    if code == 19 and NAME_NOT_FOUND.search(message):  # not a resolver that timed out
        return DownloadFailed("NAME_NOT_FOUND", text, retryable=False)
    if code in NETWORK_CODES:
        return DownloadFailed("NETWORK_ERROR", text, retryable=True)
    if code == 9:
        # The disk may have room again later, or another worker may take the job.
        return DownloadFailed("DISK_FULL", text, retryable=True)
    if code == 32:
        return DownloadFailed("CHECKSUM_MISMATCH", text, retryable=False)
    if code == 23:
        return DownloadFailed("TOO_MANY_REDIRECTS", text, retryable=False)
    if code == 24:
        return DownloadFailed("HTTP_401", text, retryable=False)
    return DownloadFailed(f"ARIA2_{code}", text, retryable=True)


def poll_delays(interval: float, first: float = FIRST_POLL) -> Iterator[float]:
    """The waits between status reads: from `first`, doubling up to `interval`, then `interval`."""
    delay = min(first, interval)
    while True:
        yield delay
        delay = min(delay * 2, interval)


def _probe_in_background(url: str, egress: ToolEgress) -> Future[Probe | None]:
    future: Future[Probe | None] = Future()

    def work() -> None:
        future.set_result(probe(url, egress))

    threading.Thread(target=work, name="aria2-probe", daemon=True).start()
    return future


class Aria2Engine:
    def __init__(self, daemon: Aria2Daemon, poll_interval: float = 0.2, max_bytes: int | None = None) -> None:
        self._daemon = daemon
        self._poll = poll_interval
        self._max_bytes = max_bytes

    def run(self, spec: JobSpec, work_dir: Path, on_sample: OnSample, should_stop: StopCheck) -> Downloaded:
        if urlsplit(spec.url).scheme not in ("http", "https"):
            raise DownloadFailed("UNSUPPORTED_URL", "aria2 fetches only http and https URLs", retryable=False)
        work_dir.mkdir(parents=True, exist_ok=True)
        part = work_dir / OUT_NAME
        gid = gid_for(work_dir)
        names = _probe_in_background(spec.url, self._daemon.egress)
        failures = 0
        delays = poll_delays(self._poll)
        self._add(gid, spec.url, work_dir)
        while True:
            if (action := should_stop()) is not None:
                self._remove(gid)
                raise StopRequested(action)
            try:
                status = self._daemon.client().tell_status(gid, STATUS_KEYS)
            except (Aria2Unavailable, Aria2RpcError) as exc:
                # aria2c died, or was restarted without this download: add it again, and it resumes.
                failures += 1
                if failures > DAEMON_RESTARTS:
                    raise DownloadFailed(
                        "ARIA2_UNAVAILABLE", f"aria2c keeps failing: {exc}", retryable=True
                    ) from None
                self._add(gid, spec.url, work_dir)
                continue
            failures = 0
            state = status.get("status")
            if state == "complete":
                announced = _int(status.get("totalLength")) or None
                self._forget(gid)
                break
            if state == "error":
                self._forget(gid)
                raise classify(_int(status.get("errorCode")), str(status.get("errorMessage") or ""))
            if state == "removed":
                self._forget(gid)
                raise DownloadFailed("ARIA2_REMOVED", "the download was removed from aria2", retryable=True)
            sample = from_aria2(status)
            on_sample(sample)
            self._check_budget(gid, sample)
            time.sleep(next(delays))
        if not part.is_file():
            raise DownloadFailed("NO_OUTPUT", "aria2 reported success but wrote no file", retryable=True)
        size = part.stat().st_size
        on_sample(Sample("downloading", 100.0, size, size))
        try:
            found = names.result(timeout=PROBE_TIMEOUT)
        except FutureTimeout:
            found = None
        name, extension = name_and_extension(spec.url, found)
        return Downloaded(part, name, extension, announced_bytes=announced)

    def _check_budget(self, gid: str, sample: Sample) -> None:
        limit = self._max_bytes
        if limit is not None and max(sample.total_bytes or 0, sample.downloaded_bytes) > limit:
            self._remove(gid)
            raise DownloadFailed("FILE_TOO_LARGE", f"the file is larger than {limit} bytes", retryable=False)

    def _add(self, gid: str, url: str, work_dir: Path) -> None:
        """Have aria2 download `url` under `gid`, starting aria2c again if it is not running.

        A download aria2 already runs under `gid` is adopted; a finished or failed one is cleared.
        """
        try:
            self._daemon.ensure_running()
            state = self._state(gid)
            if state in ("active", "waiting"):
                return
            if state is not None:
                self._remove(gid)
            part = work_dir / OUT_NAME
            if part.exists() and not part.with_name(OUT_NAME + CONTROL_SUFFIX).exists():
                # Without its control file nothing tells which ranges of a split download are good.
                part.unlink()
            options = {"gid": gid, "dir": str(work_dir), "out": OUT_NAME, "continue": "true"}
            self._daemon.client().add_uri(url, self._daemon.egress.aria2_download_options(options))
        except Aria2Unavailable as exc:
            raise DownloadFailed("ARIA2_UNAVAILABLE", str(exc), retryable=True) from None
        except Aria2RpcError as exc:
            raise DownloadFailed("ARIA2_REFUSED", exc.message, retryable=False) from None

    def _state(self, gid: str) -> str | None:
        try:
            return str(self._daemon.client().tell_status(gid, ["status"]).get("status"))
        except Aria2RpcError:
            return None  # aria2 does not know this GID

    def _remove(self, gid: str) -> None:
        """Stop the download and drop aria2's record of it; the partial and control files stay."""
        client = self._daemon.client()
        with contextlib.suppress(Aria2RpcError, Aria2Unavailable):
            client.force_remove(gid)  # refused when the download is not active: fine
        deadline = time.monotonic() + REMOVE_TIMEOUT
        while time.monotonic() < deadline:
            try:
                state = client.tell_status(gid, ["status"]).get("status")
            except (Aria2RpcError, Aria2Unavailable):
                return  # unknown GID, or no daemon: nothing is downloading
            if state not in ("active", "waiting", "paused"):
                break
            time.sleep(0.02)
        self._forget(gid)

    def _forget(self, gid: str) -> None:
        with contextlib.suppress(Aria2RpcError, Aria2Unavailable):
            self._daemon.client().remove_download_result(gid)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
