"""The RQ task: claim the job, run its engine, put the file in place, report the outcome.

`run_job` is what jobstore enqueues (`worker.tasks.run_job`). It is a thin shell: the engines
know nothing of RQ or Socket.IO, and `JobRunner` knows nothing of RQ.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import structlog
from haul.contract.events import CompletedEvent, FailedEvent, JobSpec

from worker.engines.base import Downloaded, DownloadFailed, StopRequested
from worker.engines.ytdlp import YtDlpEngine
from worker.link import GatewayLink
from worker.naming import final_path, safe_filename
from worker.samples import Sample
from worker.settings import WorkerSettings
from worker.tools import Tools, find_tools
from worker.watchdog import Budgets, Interrupter, Watchdog

log = structlog.get_logger(__name__)

# What a watchdog stop reports: (error code, message, retryable). Budgets are final.
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
        engine = YtDlpEngine(self._tools.ffmpeg, self._settings.concurrent_fragments)
        try:
            with watchdog, interrupter.armed():
                downloaded = engine.run(self._spec, self.work_dir, on_sample, lambda: interrupter.reason)
        except StopRequested as stop:
            return self._stopped(stop.action)
        except DownloadFailed as failure:
            if interrupter.reason is not None:  # the failure is the interruption's doing
                return self._stopped(interrupter.reason)
            return self._fail(failure.code, failure.message, failure.retryable)
        return self._finish(downloaded)

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
