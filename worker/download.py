"""One download: choose the engine, run it, and give back the file, in whichever process the
job's tools must run (the work horse, or its child in an isolated network namespace)."""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
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


def download(job: DownloadJob, egress: ToolEgress, on_sample: OnSample, should_stop: StopCheck) -> Downloaded:
    """aria2 for plain files, yt-dlp otherwise (see worker.engines.choice); every tool, and the
    probe of an `auto` job, reaches the network as `egress` says."""
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
        engine = YtDlpEngine(job.tools.ffmpeg, job.concurrent_fragments, egress, job.tools.ffprobe)
        return engine.run(spec, job.work_dir, on_sample, should_stop)
    # One daemon per job, beside its tools: it belongs to this job alone and dies with it, and
    # its only way out is this job's guard (aria2 takes a proxy globally only).
    log.info("engine chosen", engine="aria2", content_type=content_type)
    try:
        with contextlib.ExitStack() as resources:
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
