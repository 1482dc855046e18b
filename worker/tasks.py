"""The RQ task: claim the job, run its engine, put the file in place, report the outcome.

`run_job` is what jobstore enqueues (`worker.tasks.run_job`). It is a thin shell: the engines
know nothing of RQ or Socket.IO, and `JobRunner` knows nothing of RQ.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog

from haul.contract.events import CompletedEvent, FailedEvent, JobSpec
from worker.aria2d import Aria2Daemon, Aria2Unavailable
from worker.egress.policy import EgressPolicy
from worker.egress.proxy import EgressProxy, EgressProxyThread
from worker.egress.tools import BYPASS_VARIABLES, PROXY_VARIABLES
from worker.engines.aria2 import Aria2Engine, probe
from worker.engines.base import Downloaded, DownloadFailed, Engine, StopRequested
from worker.engines.choice import choose_engine
from worker.engines.ytdlp import YtDlpEngine
from worker.link import GatewayLink
from worker.naming import final_path, safe_filename
from worker.samples import Sample
from worker.settings import WorkerSettings
from worker.tools import Tools, find_tools
from worker.verify import Truncated, check_complete
from worker.watchdog import Budgets, Interrupter, Watchdog

log = structlog.get_logger(__name__)

# What a watchdog stop reports: (error code, message, retryable). Budgets are final.
EGRESS_REFUSED_MESSAGE = (
    "the egress guard refused a connection: the URL, a redirect or a part of the media points at "
    "an address or port a download may not reach"
)
STOP_OUTCOMES: dict[str, tuple[str, str, bool]] = {
    "stall": ("STALLED", "no progress from the download for too long", True),
    "size": ("SIZE_LIMIT", "the download grew past the maximum file size", False),
    "time": ("TIME_LIMIT", "the download took longer than the maximum job duration", False),
    "disk": ("DISK_RESERVE", "free disk space fell under the reserve", False),
}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for chunk in iter(lambda: source.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


class JobRunner:
    def __init__(
        self, settings: WorkerSettings, link: GatewayLink, tools: Tools, job_id: str, spec: JobSpec
    ) -> None:
        self._settings = settings
        self._link = link
        self._tools = tools
        self._job_id = job_id
        self._spec = spec
        self.work_dir = settings.tmp_dir.resolve() / job_id

    def run(self) -> str:
        structlog.contextvars.bind_contextvars(job_id=self._job_id)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        interrupter = Interrupter()
        self._link.on_stop = interrupter.interrupt
        if self._link.stop_request is not None:
            interrupter.interrupt(self._link.stop_request.action)
        watchdog = Watchdog(self._budgets(), self.work_dir, interrupter)

        def on_sample(sample: Sample) -> None:
            watchdog.touch(sample)
            self._link.progress(sample)

        on_sample(Sample("resolving", 0.0))
        # The aria2 daemon of this job (if any) is gone before finishing touches begin.
        with contextlib.ExitStack() as resources:
            guard = self._egress(resources)
            proxy_url = guard.url_for(self._job_id) if guard is not None else None
            try:
                engine = self._engine(resources, proxy_url)
                with watchdog, interrupter.armed():
                    downloaded = engine.run(self._spec, self.work_dir, on_sample, lambda: interrupter.reason)
            except StopRequested as stop:
                return self._stopped(stop.action)
            except DownloadFailed as failure:
                if interrupter.reason is not None:  # the failure is the interruption's doing
                    return self._stopped(interrupter.reason)
                if guard is not None and guard.proxy.stats.refused:
                    return self._fail("EGRESS_REFUSED", EGRESS_REFUSED_MESSAGE, retryable=False)
                return self._fail(failure.code, failure.message, failure.retryable)
            except Aria2Unavailable as exc:
                return self._fail("ARIA2_UNAVAILABLE", str(exc), retryable=True)
        return self._finish(downloaded)

    def _egress(self, resources: contextlib.ExitStack) -> EgressProxyThread | None:
        """This job's egress guard: the only way its tools reach the network."""
        settings = self._settings
        if not settings.egress_guard:
            return None
        policy = EgressPolicy(settings.egress_allowed_networks, settings.egress_allowed_ports)
        proxy = EgressProxy(policy, max_connections_per_job=settings.egress_max_connections_per_job)
        guard = proxy.run_in_thread()
        resources.callback(guard.stop)
        # Tools started by yt-dlp inherit this environment, so no variable that could steer
        # them past the guard may remain. No proxy variable is added either: yt-dlp hands its
        # proxy to the ffmpeg it starts, and the link to the gateway must stay direct.
        for name in (*BYPASS_VARIABLES, *PROXY_VARIABLES):
            os.environ.pop(name, None)
        return guard

    def _engine(self, resources: contextlib.ExitStack, proxy_url: str | None) -> Engine:
        """aria2 for plain files, yt-dlp otherwise (see worker.engines.choice)."""
        spec = self._spec
        content_type = None
        if spec.type == "auto":
            found = probe(spec.url, proxy_url)
            content_type = found.content_type if found else None
        choice = choose_engine(spec.type, urlsplit(spec.url).path, content_type)
        aria2c = self._tools.aria2c
        if choice == "ytdlp" or aria2c is None:
            return YtDlpEngine(self._tools.ffmpeg, self._settings.concurrent_fragments, proxy_url)
        # One daemon per job, in the work horse: it belongs to this job alone and dies with it,
        # and its only way out is this job's guard (aria2 takes a proxy globally only).
        root = self._settings.tmp_dir.resolve() / ".aria2" / str(os.getpid())
        resources.callback(shutil.rmtree, root, True)
        daemon = Aria2Daemon(aria2c, root, proxy_url)
        resources.callback(daemon.stop, False)
        daemon.start()
        log.info("engine chosen", engine="aria2", content_type=content_type)
        return Aria2Engine(daemon, max_bytes=self._settings.max_file_bytes)

    def _budgets(self) -> Budgets:
        settings = self._settings
        return Budgets(
            stall_seconds=settings.stall_timeout,
            max_duration=settings.max_job_duration,
            max_file_bytes=settings.max_file_bytes,
            min_free_bytes=settings.min_free_disk_bytes,
        )

    def _finish(self, downloaded: Downloaded) -> str:
        self._link.progress(Sample("finalizing", 100.0), force=True)
        try:
            check_complete(
                downloaded.path, downloaded.announced_bytes, downloaded.meta.duration, self._tools.ffprobe
            )
        except Truncated as exc:
            # The same source could well be whole next time; keep nothing of this attempt.
            shutil.rmtree(self.work_dir, ignore_errors=True)
            return self._fail("TRUNCATED", str(exc), retryable=True)
        name = safe_filename(downloaded.suggested_name, downloaded.extension)
        target = final_path(self._settings.data_dir, self._job_id, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = sha256_of(downloaded.path)
        size = downloaded.path.stat().st_size
        os.replace(downloaded.path, target)  # atomic: same filesystem, checked at start-up
        shutil.rmtree(self.work_dir, ignore_errors=True)
        event = CompletedEvent(
            job_id=self._job_id,
            attempt=self._link.attempt,
            seq=self._link.next_seq(),
            filename=name,
            output_path=f"{self._job_id}/{name}",
            size=size,
            sha256=digest,
            meta=downloaded.meta,
        )
        reply = self._link.send_outcome("completed", event.wire(), self._settings.outcome_resend_window)
        log.info("job finished", filename=name, size=size, acknowledged=reply.ok, refusal=reply.refusal)
        return f"completed: {name}" if reply.ok else f"completed, not recorded: {reply.refusal}"

    def _stopped(self, reason: str) -> str:
        """Control actions end quietly (jobstore already knows); watchdog reasons are reported."""
        if reason in STOP_OUTCOMES:
            code, message, retryable = STOP_OUTCOMES[reason]
            if not retryable:
                shutil.rmtree(self.work_dir, ignore_errors=True)
            return self._fail(code, message, retryable)
        if reason == "cancel":
            shutil.rmtree(self.work_dir, ignore_errors=True)
        log.info("job stopped", action=reason, partial_files_kept=reason != "cancel")
        return f"stopped: {reason}"

    def _fail(self, code: str, message: str, retryable: bool) -> str:
        event = FailedEvent(
            job_id=self._job_id,
            attempt=self._link.attempt,
            seq=self._link.next_seq(),
            error_code=code,
            message=message[:8192].replace("\x00", ""),
            retryable=retryable,
        )
        reply = self._link.send_outcome("failed", event.wire(), self._settings.outcome_resend_window)
        log.warning("job failed", code=code, retryable=retryable, acknowledged=reply.ok)
        return f"failed: {code}"


def run_job(job_id: str, attempt: int, **_ignored: Any) -> str:
    """RQ entry point. `attempt` is the one the dispatcher expected; the claim decides."""
    settings = WorkerSettings()
    tools = find_tools()
    link = GatewayLink(
        settings.gateway_url,
        settings.worker_token.get_secret_value(),
        settings.worker_name,
        settings.progress_interval,
        tools.describe(),
    )
    link.connect()
    try:
        claim = link.claim(job_id)
        if not claim.ok or claim.job is None:
            log.info("claim refused; nothing to do", job_id=job_id, refusal=claim.refusal)
            return f"not claimed: {claim.refusal}"
        return JobRunner(settings, link, tools, job_id, claim.job).run()
    finally:
        link.close()
