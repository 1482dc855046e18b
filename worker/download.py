"""One download: choose the engine, run it, and give back the file, in whichever process the
job's tools must run (the work horse, or its child in an isolated network namespace)."""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

import structlog

from haul.contract.events import JobSpec
from worker.aria2_roots import RootInUse, leased_root
from worker.aria2d import Aria2Daemon, Aria2Unavailable
from worker.egress.tools import ToolEgress
from worker.engines.aria2 import Aria2Engine
from worker.engines.base import Downloaded, DownloadFailed, OnSample, StopCheck
from worker.engines.choice import choose_engine
from worker.engines.probe import probe
from worker.engines.ytdlp import YtDlpEngine
from worker.tools import Tools

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DownloadJob:
    spec: JobSpec
    work_dir: Path
    tools: Tools
    concurrent_fragments: int
    max_file_bytes: int
    # Where this job's aria2c daemon keeps its session and configuration.
    aria2_root: Path


class WarmAria2:
    """A job's aria2c daemon started before the job's spec is known: while its claim is in flight,
    in the job's own daemon folder (`root`, leased) and with the job's own way out (`egress`, the
    job's guard). The download takes it only when both are still what it would start one with;
    anything else (a yt-dlp job, a refused claim, another folder or way out) stops it unused."""

    def __init__(self, aria2c: str, root: Path, egress: ToolEgress) -> None:
        self.root, self.egress = root, egress
        self._aria2c = aria2c
        self._resources = contextlib.ExitStack()
        self._daemon: Aria2Daemon | None = None

    def start(self) -> Self:
        """Start the daemon and wait until it answers; on failure there is none (the download
        then starts its own, and reports why that failed too)."""
        try:
            self._resources.enter_context(leased_root(self.root))
            self._resources.callback(shutil.rmtree, self.root, True)
            daemon = Aria2Daemon(self._aria2c, self.root, self.egress)
            self._resources.callback(daemon.stop, False)
            daemon.start()
        except (Aria2Unavailable, RootInUse, OSError) as exc:
            log.info("aria2c not started ahead of the claim", error=str(exc))
            self.close()
            return self
        self._daemon = daemon
        return self

    def take(self, root: Path, egress: ToolEgress) -> Aria2Daemon | None:
        """The daemon, for a download in `root` whose way out is `egress`; None otherwise."""
        daemon, self._daemon = self._daemon, None
        if daemon is None or root != self.root or egress != self.egress:
            return None
        return daemon

    def close(self) -> None:
        """Stop the daemon (if still running) and remove its folder; safe to repeat."""
        self._daemon = None
        self._resources.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def download(
    job: DownloadJob,
    egress: ToolEgress,
    on_sample: OnSample,
    should_stop: StopCheck,
    warm: WarmAria2 | None = None,
) -> Downloaded:
    """aria2 for plain files, yt-dlp otherwise (see worker.engines.choice); every tool, and the
    probe of an `auto` job, reaches the network as `egress` says. `warm`: this job's daemon,
    started ahead; stopped here unless this download takes it."""
    # Tools started by yt-dlp inherit this process's environment.
    egress.scrub_process_environment(os.environ)
    spec = job.spec
    content_type = None
    if spec.type == "auto":
        found = probe(spec.url, egress)
        content_type = found.content_type if found else None
    choice = choose_engine(spec.type, urlsplit(spec.url).path, content_type)
    aria2c = job.tools.aria2c
    if choice == "ytdlp" or aria2c is None:
        if warm is not None:
            warm.close()
        engine = YtDlpEngine(job.tools.ffmpeg, job.concurrent_fragments, egress, job.tools.ffprobe)
        return engine.run(spec, job.work_dir, on_sample, should_stop)
    # One daemon per job, beside its tools: it belongs to this job alone and dies with it, and
    # its only way out is this job's guard (aria2 takes a proxy globally only).
    log.info("engine chosen", engine="aria2", content_type=content_type)
    try:
        with contextlib.ExitStack() as resources:
            daemon = warm.take(job.aria2_root, egress) if warm is not None else None
            if warm is not None:
                resources.callback(warm.close)  # its lease, folder and daemon, as below
            if daemon is None:
                if warm is not None:
                    warm.close()  # not this download's: gone before its folder is leased again
                # Held until the folder is gone: the worker start-up sweep leaves it alone meanwhile.
                resources.enter_context(leased_root(job.aria2_root))
                resources.callback(shutil.rmtree, job.aria2_root, True)
                daemon = Aria2Daemon(aria2c, job.aria2_root, egress)
                resources.callback(daemon.stop, False)
                daemon.start()
            aria2 = Aria2Engine(daemon, max_bytes=job.max_file_bytes)
            return aria2.run(spec, job.work_dir, on_sample, should_stop)
    except (Aria2Unavailable, RootInUse) as exc:
        raise DownloadFailed("ARIA2_UNAVAILABLE", str(exc), retryable=True) from None
