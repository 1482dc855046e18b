"""The RQ task: claim the job, run its engine, put the file in place, report the outcome.

`run_job` is what jobstore enqueues (`worker.tasks.run_job`). It is a thin shell: the engines
know nothing of RQ or Socket.IO, and `JobRunner` knows nothing of RQ.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import structlog

from haul.contract.error_text import short_error_message
from haul.contract.events import CompletedEvent, FailedEvent, JobSpec
from haul.runtime.timeline import mark
from worker.aria2_roots import new_root
from worker.collection_entries import Collection
from worker.download import DownloadJob
from worker.egress.netns import IsolationUnavailable
from worker.egress.policy import EgressPolicy
from worker.egress.proxy import EgressProxy, EgressProxyThread
from worker.egress.tools import ToolEgress
from worker.engines.base import Downloaded, DownloadFailed, StopRequested
from worker.expand import report_collection, resolve_or_download
from worker.finish import (
    Pending,
    crash_point,
    drop_record,
    load_record,
    place_thumbnail,
    save_record,
    sha256_of,
)
from worker.identity import worker_id
from worker.isolation import EarlyStart, IsolatedDownload, PendingIsolation, hello_tools
from worker.joblock import JobBusy, job_folder_lock
from worker.link import GatewayLink
from worker.media_identity import url_identity
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
NAME_NOT_FOUND_MESSAGE = "the name of the URL's host, or of a host it redirects to, does not exist"
STOP_OUTCOMES: dict[str, tuple[str, str, bool]] = {
    "stall": ("STALLED", "no progress from the download for too long", True),
    "size": ("SIZE_LIMIT", "the download grew past the maximum file size", False),
    "time": ("TIME_LIMIT", "the download took longer than the maximum job duration", False),
    "disk": ("DISK_RESERVE", "free disk space fell under the reserve", False),
}


class JobRunner:
    def __init__(
        self,
        settings: WorkerSettings,
        link: GatewayLink,
        tools: Tools,
        job_id: str,
        spec: JobSpec,
        isolated: IsolatedDownload | None = None,
        early: EarlyStart | None = None,
    ) -> None:
        self._settings = settings
        self._isolated = isolated
        # What the isolated child was told before the claim: its guard's socket, token, daemon folder.
        self._early = early
        self._link = link
        self._tools = tools
        self._job_id = job_id
        self._spec = spec
        self.work_dir = settings.tmp_dir.resolve() / job_id
        # The URL's archive identity, for a download yt-dlp did not read (see `_run`).
        self._url_identity: Callable[[], str] = lambda: url_identity(spec.url)

    def run(self) -> str:
        structlog.contextvars.bind_contextvars(job_id=self._job_id)
        try:
            with job_folder_lock(self.work_dir):
                return self._run()
        except JobBusy as busy:
            return self._fail("JOB_BUSY", str(busy), retryable=True)

    def _run(self) -> str:
        pending = load_record(self.work_dir)
        if pending is not None:
            if pending.source.is_file() or self._target(pending.filename).is_file():
                log.info("finishing what an earlier attempt downloaded", filename=pending.filename)
                return self._complete(pending)
            drop_record(self.work_dir)  # its file is in neither place: download again
        interrupter = Interrupter()
        self._link.on_stop = interrupter.interrupt
        if self._link.stop_request is not None:
            interrupter.interrupt(self._link.stop_request.action)
        watchdog = Watchdog(self._budgets(), self.work_dir, interrupter)

        def on_sample(sample: Sample) -> None:
            watchdog.touch(sample)
            if structlog.contextvars.get_contextvars().get("stage") != sample.stage:
                structlog.contextvars.bind_contextvars(stage=sample.stage)  # on every log line after
            self._link.progress(sample)

        on_sample(Sample("resolving", 0.0))
        job = DownloadJob(
            spec=self._spec,
            work_dir=self.work_dir,
            tools=self._tools,
            concurrent_fragments=self._settings.concurrent_fragments,
            max_file_bytes=self._settings.max_file_bytes,
            aria2_root=self._early.aria2_root if self._early else new_root(self._settings.tmp_dir),
        )
        # The job's tools (an aria2 daemon, ffmpeg) are gone before finishing touches begin.
        with contextlib.ExitStack() as resources:
            guard = self._egress(resources)
            mark("guard", job_id=self._job_id)
            # Matching the URL against yt-dlp's extractors takes ~10 ms of CPU in a fresh work
            # horse: done while the download runs rather than after it.
            self._url_identity = in_background(url_identity, self._spec.url)
            try:
                with watchdog, interrupter.armed():
                    # The one object all of this job's tools take their way out from.
                    egress = guard.proxy.tool_egress(self._job_id) if guard is not None else ToolEgress()
                    # A collection is listed first (worker.expand), where the download would run.
                    if guard is not None and self._isolated is not None:
                        downloaded = self._isolated.run(job, egress, on_sample)
                    else:
                        downloaded = resolve_or_download(job, egress, on_sample, lambda: interrupter.reason)
            except StopRequested as stop:
                return self._stopped(stop.action)
            except DownloadFailed as failure:
                if interrupter.reason is not None:  # the failure is the interruption's doing
                    return self._stopped(interrupter.reason)
                if guard is not None and guard.proxy.stats.refused:
                    shutil.rmtree(self.work_dir, ignore_errors=True)
                    return self._fail("EGRESS_REFUSED", EGRESS_REFUSED_MESSAGE, retryable=False)
                if guard is not None and guard.proxy.stats.unresolved:  # the tool saw only a 502
                    return self._fail("NAME_NOT_FOUND", NAME_NOT_FOUND_MESSAGE, retryable=False)
                if not failure.retryable:  # no attempt will resume it (FILE_TOO_LARGE, say)
                    shutil.rmtree(self.work_dir, ignore_errors=True)
                return self._fail(failure.code, failure.message, failure.retryable)
        if isinstance(downloaded, Collection):
            shutil.rmtree(self.work_dir, ignore_errors=True)  # the attempt downloaded nothing
            return report_collection(
                self._link, self._job_id, downloaded, self._settings.outcome_resend_window
            )
        return self._finish(downloaded)

    def _egress(self, resources: contextlib.ExitStack) -> EgressProxyThread | None:
        """This job's egress guard: the only way its tools reach the network. With the tools in
        an isolated network namespace, it also listens on a Unix socket, their only way out."""
        settings = self._settings
        if not settings.egress_guard:
            return None
        unix_path = token = None
        if self._isolated is not None and self._early is not None:  # as the child was told
            unix_path, token = self._early.unix_path, self._early.token
            resources.callback(shutil.rmtree, os.path.dirname(unix_path), True)
        elif self._isolated is not None:
            unix_path = new_guard_socket()
            resources.callback(shutil.rmtree, os.path.dirname(unix_path), True)
        policy = EgressPolicy(settings.egress_allowed_networks, settings.egress_allowed_ports)
        proxy = EgressProxy(
            policy,
            max_connections_per_job=settings.egress_max_connections_per_job,
            token=token,
            unix_path=unix_path,
        )
        guard = proxy.run_in_thread()
        resources.callback(guard.stop)
        return guard

    def _budgets(self) -> Budgets:
        settings = self._settings
        return Budgets(
            stall_seconds=settings.stall_timeout,
            max_duration=settings.max_job_duration,
            max_file_bytes=settings.max_file_bytes,
            min_free_bytes=settings.min_free_disk_bytes,
        )

    def _target(self, filename: str) -> Path:
        return final_path(self._settings.data_dir, self._job_id, filename)

    def _finish(self, downloaded: Downloaded) -> str:
        name = safe_filename(downloaded.suggested_name, downloaded.extension)
        pending = Pending(
            downloaded.path, name, downloaded.announced_bytes, downloaded.meta, downloaded.archive_id
        )
        if downloaded.path.resolve().parent == self.work_dir:
            save_record(self.work_dir, pending)
        return self._complete(pending)

    def _complete(self, pending: Pending) -> str:
        """Check, move, hash and report; each step may already have been done by an attempt that
        crashed after it (see worker.finish), and is then taken as done."""
        self._link.progress(Sample("finalizing", 100.0), force=True)
        target = self._target(pending.filename)
        attempt = self._link.attempt
        if pending.source.is_file():
            try:
                check_complete(
                    pending.source, pending.announced_bytes, pending.meta.duration, self._tools.ffprobe
                )
            except Truncated as exc:
                # The same source could well be whole next time; keep nothing of this attempt.
                shutil.rmtree(self.work_dir, ignore_errors=True)
                return self._fail("TRUNCATED", str(exc), retryable=True)
            crash_point("checked", attempt)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(pending.source, target)  # atomic: same filesystem, checked at start-up
            crash_point("moved", attempt)
        elif not target.is_file():
            shutil.rmtree(self.work_dir, ignore_errors=True)
            return self._fail("NO_OUTPUT", "the finished file went missing before it was put in place", True)
        meta = place_thumbnail(self.work_dir, target.parent, pending.meta)
        digest = sha256_of(target, attempt)
        size = target.stat().st_size
        crash_point("hashed", attempt)
        event = CompletedEvent(
            job_id=self._job_id,
            attempt=attempt,
            seq=self._link.next_seq(),
            filename=pending.filename,
            output_path=f"{self._job_id}/{pending.filename}",
            size=size,
            sha256=digest,
            meta=meta,
            # What yt-dlp read, else the URL's identity (worker.media_identity).
            archive_id=pending.archive_id or self._url_identity(),
        )
        mark("finish", job_id=self._job_id)
        reply = self._link.send_outcome("completed", event.wire(), self._settings.outcome_resend_window)
        if reply.ok:
            shutil.rmtree(self.work_dir, ignore_errors=True)
        # Otherwise the record stays, so the attempt that owns the job finishes without downloading;
        # a job that ended meanwhile has its folder removed by the gateway (gateway.partials).
        log.info(
            "job finished", filename=pending.filename, size=size, acknowledged=reply.ok, refusal=reply.refusal
        )
        return f"completed: {pending.filename}" if reply.ok else f"completed, not recorded: {reply.refusal}"

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
            # The whole text (a traceback, the tool's paths) stays in this log line only.
            message=short_error_message(message),
            retryable=retryable,
        )
        reply = self._link.send_outcome("failed", event.wire(), self._settings.outcome_resend_window)
        log.warning("job failed", code=code, retryable=retryable, acknowledged=reply.ok, detail=message)
        return f"failed: {code}"


def in_background(work: Callable[[str], str], argument: str) -> Callable[[], str]:
    """`work(argument)` in a daemon thread; the returned call waits for its result (or raises
    what it raised)."""
    future: Future[str] = Future()

    def run() -> None:
        try:
            future.set_result(work(argument))
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, name="background", daemon=True).start()
    return future.result


def new_guard_socket() -> str:
    """A path for a job's guard's Unix socket, in a fresh private folder (the caller removes it)."""
    folder = tempfile.mkdtemp(prefix="haul-egress-")  # short: socket paths hold 107 bytes
    return os.path.join(folder, "guard.sock")


def early_start(settings: WorkerSettings, tools: Tools, job_id: str) -> EarlyStart | None:
    """What the isolated child starts while the job is claimed; None where there is no child."""
    if not settings.egress_guard or settings.egress_namespace == "off":
        return None
    return EarlyStart(
        job_id=job_id,
        token=secrets.token_urlsafe(24),
        unix_path=new_guard_socket(),
        aria2_root=new_root(settings.tmp_dir),
        aria2c=tools.aria2c,
    )


def isolated_child(settings: WorkerSettings, early: EarlyStart | None = None) -> PendingIsolation | None:
    """The child the job's tools run in, cut off from every network but the guard's socket, just
    forked (`isolation_ready` waits for its namespace); None where the setting turns it off.
    It starts the job's bridge and aria2 daemon (`early`) while the horse claims the job."""
    if not settings.egress_guard or settings.egress_namespace == "off":
        return None
    return IsolatedDownload.start(early)


def isolation_ready(pending: PendingIsolation | None, settings: WorkerSettings) -> IsolatedDownload | None:
    """The child in its namespace; None where the platform does not allow one (the guard alone
    is then active), an IsolationUnavailable where the settings require it."""
    if pending is None:
        return None
    child, reason = pending.ready()
    if child is None:
        log.warning("tools not isolated: the egress proxy is the only layer", reason=reason)
        if settings.egress_namespace == "require":
            raise IsolationUnavailable(errno.EPERM, f"HAUL_EGRESS_NAMESPACE=require, but {reason}")
    return child


def run_job(job_id: str, attempt: int, **_ignored: Any) -> str:
    """RQ entry point. `attempt` is the one the dispatcher expected; the claim decides."""
    settings = WorkerSettings()
    tools = find_tools()
    identity = worker_id(settings)
    log.info("worker identity", worker_id=identity, host=settings.worker_name)
    # Forked before the link starts its threads (see worker.isolation); the kernel makes its
    # namespace, and the child starts the job's aria2 daemon, while the link connects and claims.
    early = early_start(settings, tools, job_id)
    pending = isolated_child(settings, early)
    with contextlib.ExitStack() as held:
        if early is not None:  # the guard's folder, whether or not a guard ever listens in it
            held.callback(shutil.rmtree, os.path.dirname(early.unix_path), True)
        if pending is not None:
            held.enter_context(pending)
        link = GatewayLink(
            settings.gateway_url,
            settings.worker_token.get_secret_value(),
            identity,
            settings.progress_interval,
            hello_tools(settings),
        )
        link.connect()
        try:
            claim = link.claim(job_id)
            mark("claim", job_id=job_id)
            if not claim.ok or claim.job is None:
                log.info("claim refused; nothing to do", job_id=job_id, refusal=claim.refusal)
                return f"not claimed: {claim.refusal}"
            try:
                isolated = isolation_ready(pending, settings)
            except IsolationUnavailable as exc:  # claimed: say so, and another attempt may have one
                return JobRunner(settings, link, tools, job_id, claim.job)._fail(
                    "ISOLATION_UNAVAILABLE", str(exc), retryable=True
                )
            with isolated or contextlib.nullcontext():
                mark("isolation", job_id=job_id)
                return JobRunner(settings, link, tools, job_id, claim.job, isolated, early).run()
        finally:
            link.close()
