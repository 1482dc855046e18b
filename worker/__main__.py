"""`python -m worker`: a pool of RQ workers on the `haul` queue (JSON serializer).

Nothing here outlives its parent: a worker dies with the pool, its work horse with the worker
(RQ's horse leads a process group of its own, so a signal to the pool's group misses it), and
the horse's process group (its isolated child, ffmpeg) and aria2c with the horse (see
haul.runtime.lifeline). Partial files stay; the job resumes from them.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from typing import Any

import structlog
import yt_dlp  # noqa: F401 - imported before the fork, so each job starts without paying for it
from redis import Redis
from rq.job import Job
from rq.queue import Queue
from rq.serializers import JSONSerializer
from rq.worker import Worker
from rq.worker_pool import WorkerPool

from haul.runtime.lifeline import die_with_parent, group_dies_with_parent
from haul.runtime.logging import configure_logging
from haul.runtime.startup import StartupProblem, check_redis
from haul.runtime.timeline import mark
from worker.aria2_roots import sweep_aria2_roots
from worker.isolation import describe_layers, hello_tools
from worker.link import GatewayLink
from worker.settings import WorkerSettings
from worker.tools import Tools, find_tools
from worker.warmup import warm_ytdlp

log = structlog.get_logger(__name__)


class LinkedWorker(Worker):
    """An RQ worker that dies with its pool, and whose work horse dies with it."""

    _forked_by = 0

    def work(self, *args: Any, **kwargs: Any) -> bool:
        # A warm stop would wait for the download; the pool is gone, so go now (the horse too).
        pool = multiprocessing.parent_process()
        if pool is not None and pool.pid is not None:
            die_with_parent(signal.SIGKILL, pool.pid)
        return bool(super().work(*args, **kwargs))

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        self._forked_by = os.getpid()  # the horse's parent, read in the horse after the fork
        mark("dequeue", job_id=job.kwargs.get("job_id"))
        super().fork_work_horse(job, queue)

    def setup_work_horse_signals(self) -> None:
        super().setup_work_horse_signals()  # type: ignore[no-untyped-call]
        # The horse's first step after RQ's fork, before the job starts anything. RQ made the horse
        # lead a process group of its own: the isolated child and the tools in it go too.
        group_dies_with_parent(self._forked_by)
        mark("fork", rq_job_id=os.environ.get("RQ_JOB_ID"))  # RQ sets it just before the fork


class PromptStopPool(WorkerPool):
    """A pool that stops running jobs instead of waiting for them: downloads can take hours.

    RQ's pool asks its workers for a warm shutdown, which waits for the current job, and a
    worker ignores a second signal within a second of the first. So a second later, workers
    still busy get SIGTERM, a cold shutdown: RQ kills the work horse's process group (the job's
    isolated child and its tools with it). Partial files stay; the job resumes from them
    (requeued by jobstore's reaper, or at once by `make run`'s next start)."""

    COLD_AFTER_SECONDS = 1.2

    def request_stop(self, signum: Any = None, frame: Any = None) -> None:
        self._stop_requested_at = time.monotonic()
        self._cold_sent = False
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]

    def all_workers_have_stopped(self) -> bool:
        stopped = bool(super().all_workers_have_stopped())
        late = time.monotonic() - getattr(self, "_stop_requested_at", time.monotonic())
        if not stopped and not self._cold_sent and late > self.COLD_AFTER_SECONDS:
            self._cold_sent = True
            for worker in list(self.worker_dict.values()):
                self.stop_worker(worker, signal.SIGTERM)
        return stopped


def keep_status_link(settings: WorkerSettings) -> None:
    """Stay connected to the gateway so its health shows this pool and its tools while idle.

    Runs in its own process, forked before any thread exists, so the pool's own forks
    never copy a Socket.IO client's threads and locks. It ends with the pool.
    """
    pool = multiprocessing.parent_process()
    if pool is not None and pool.pid is not None:
        die_with_parent(signal.SIGKILL, pool.pid)
    link = GatewayLink(
        settings.gateway_url,
        settings.worker_token.get_secret_value(),
        f"{settings.worker_name}/pool",
        settings.progress_interval,
        hello_tools(settings),
    )
    while True:  # the client reconnects by itself once connected; keep trying until it is
        try:
            link.connect()
            break
        except Exception as exc:
            log.warning("status link to the gateway not up yet", error=str(exc))
    link.wait()


def prepare_folders(settings: WorkerSettings) -> None:
    """Create DATA_DIR and TMP_DIR; refuse to start when a finished file could not be moved
    from one to the other atomically (an `os.replace` across filesystems fails)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.tmp_dir.mkdir(parents=True, exist_ok=True)
    if settings.data_dir.stat().st_dev != settings.tmp_dir.stat().st_dev:
        raise StartupProblem(
            f"HAUL_DATA_DIR ({settings.data_dir}) and HAUL_TMP_DIR ({settings.tmp_dir}) are on different "
            "filesystems; finished files are moved atomically, so put both on the same one"
        )


def require_binaries(tools: Tools) -> None:
    """ffmpeg is needed to merge, remux and convert; without aria2c or ffprobe less is lost."""
    if tools.ffmpeg is None:
        raise StartupProblem(
            "ffmpeg not found: install Debian's ffmpeg (make setup does, as root) "
            "or the pip fallback with `pip install 'haul[tools]'`"
        )
    for name, report in tools.describe().items():
        if report.startswith("missing"):
            log.warning("binary missing", binary=name, consequence=report)


def main() -> None:
    settings = WorkerSettings()
    configure_logging(settings.log_format, settings.log_level)
    prepare_folders(settings)
    sweep_aria2_roots(settings.tmp_dir)  # what SIGKILLed work horses left, secrets included
    check_redis(settings.redis_url)
    tools = find_tools()
    require_binaries(tools)
    egress = describe_layers(settings.egress_guard, settings.egress_namespace)
    if settings.egress_namespace == "require" and not egress.startswith("proxy + network namespace"):
        raise StartupProblem(f"HAUL_EGRESS_NAMESPACE=require, but the egress layers are: {egress}")
    log.info(
        "worker starting",
        processes=settings.worker_processes,
        queue=settings.queue_name,
        egress=egress,
        **tools.describe(),
    )
    status = multiprocessing.get_context("fork").Process(
        target=keep_status_link, args=(settings,), name="haul-status-link", daemon=True
    )
    status.start()
    warm_ytdlp(tools.ffmpeg)  # before the pool forks: no job pays yt-dlp's first use (worker.warmup)
    pool = PromptStopPool(
        [settings.queue_name],
        connection=Redis.from_url(settings.redis_url),
        num_workers=settings.worker_processes,
        serializer=JSONSerializer,
        worker_class=LinkedWorker,
    )
    pool.start(logging_level=settings.log_level.upper())


if __name__ == "__main__":
    main()
