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

from worker.engines.base import DownloadFailed, StopRequested
from worker.engines.ytdlp import YtDlpEngine
from worker.link import GatewayLink
from worker.naming import final_path, safe_filename
from worker.samples import Sample
from worker.settings import WorkerSettings
from worker.tools import Tools, find_tools

log = structlog.get_logger(__name__)


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

    def _should_stop(self) -> str | None:
        request = self._link.stop_request
        return request.action if request is not None else None

    def run(self) -> str:
        structlog.contextvars.bind_contextvars(job_id=self._job_id)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._link.progress(Sample("resolving", 0.0), force=True)
        engine = YtDlpEngine(self._tools.ffmpeg, self._settings.concurrent_fragments)
        try:
            downloaded = engine.run(self._spec, self.work_dir, self._link.progress, self._should_stop)
        except StopRequested as stop:
            return self._stopped(stop.action)
        except DownloadFailed as failure:
            return self._fail(failure.code, failure.message, failure.retryable)
        if (action := self._should_stop()) is not None:
            return self._stopped(action)
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

    def _stopped(self, action: str) -> str:
        if action == "cancel":
            shutil.rmtree(self.work_dir, ignore_errors=True)
        log.info("job stopped", action=action, partial_files_kept=action != "cancel")
        return f"stopped: {action}"

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
