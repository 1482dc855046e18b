"""`python -m worker`: a pool of RQ workers on the `haul` queue (JSON serializer).

Nothing here outlives its parent: a worker dies with the pool, its work horse with the worker
(RQ's horse leads a process group of its own, so a signal to the pool's group misses it), and
the horse's process group (its isolated child, ffmpeg) and aria2c with the horse (see
haul.runtime.lifeline). Partial files stay; the job resumes from them.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import time
import urllib.parse
from multiprocessing.synchronize import Event as EventType
from typing import Any

import structlog
import yt_dlp  # noqa: F401 - imported before the fork, so each job starts without paying for it
from redis import Redis
from rq.job import Job
from rq.queue import Queue
from rq.serializers import JSONSerializer
from rq.worker import Worker
from rq.worker_pool import WorkerPool

import worker.tasks  # noqa: F401 - RQ's job function, imported before the fork (not in each horse)
from haul.runtime.exiting import exit_now
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
        # haul schedules nothing in RQ (no enqueue_at, no retry intervals): no scheduler process,
        # which would also hold a stop up for its one-second tick.
        kwargs["with_scheduler"] = False
        return bool(super().work(*args, **kwargs))

    def request_stop(self, signum: Any, frame: Any) -> None:
        # A stop does not wait for the download (RQ's warm shutdown would, for hours): the horse's
        # process group goes now (its tools, and aria2c with the horse), as a cancel stops them.
        if self.horse_pid:
            self.kill_horse()
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]

    def unsubscribe(self) -> None:
        # Only at teardown, just before this process exits. RQ joins its pubsub thread for up to
        # a second, which sits in a read with a 60 s timeout; the daemon thread ends with the
        # process anyway, and its connection with it.
        if self.pubsub_thread is not None:
            self.pubsub_thread.stop()
            self.pubsub_thread.join(timeout=0.05)

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

    A stop reaches each worker (a terminal's Ctrl-C reaches them all at once, the pool's own
    SIGINT follows); LinkedWorker then kills its work horse's process group at once, as a cancel
    kills the job's tools: the download ends within moments, the origin stops sending, and the
    partial files (aria2's control file saved every second) stay; the job resumes from them
    (requeued by jobstore's reaper, or at once by `make run`'s next start). The pool waits for
    its workers together, waking as soon as the last one ends rather than once a second."""

    # How long one check waits for the workers to end.
    STOP_WAIT_SECONDS = 0.5
    # A worker still running this long after the stop (it was between jobs, forking a horse)
    # gets SIGTERM, RQ's cold shutdown, which kills its horse too.
    COLD_AFTER_SECONDS = 1.2
    # The signal handler stops waiting after this; the pool's own loop goes on waiting.
    STOP_BOUND_SECONDS = 10.0

    # Set once the workers are forked (the status link then says hello).
    workers_started: EventType | None = None

    def start_workers(self, *args: Any, **kwargs: Any) -> None:
        super().start_workers(*args, **kwargs)
        if self.workers_started is not None:
            self.workers_started.set()

    def request_stop(self, signum: Any = None, frame: Any = None) -> None:
        """Runs as the signal handler, in the pool's loop (likely in its 1-second sleep): wait for
        the workers here and leave at once, rather than at the loop's next tick."""
        if getattr(self, "_stop_requested_at", None) is not None:
            return  # a second signal (the terminal's and the launcher's): already stopping
        self._stop_requested_at = time.monotonic()
        self._cold_sent = False
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]
        while not self.all_workers_have_stopped():
            if time.monotonic() - self._stop_requested_at > self.STOP_BOUND_SECONDS:
                return  # the pool's own loop goes on waiting
        log.info("all workers stopped")
        # The status link dies with this process (PR_SET_PDEATHSIG); nothing else is left to end.
        exit_now()

    def all_workers_have_stopped(self) -> bool:
        deadline = time.monotonic() + self.STOP_WAIT_SECONDS
        while self.worker_dict and (remaining := deadline - time.monotonic()) > 0:
            ended = set(
                multiprocessing.connection.wait(
                    [d.process.sentinel for d in self.worker_dict.values()], remaining
                )
            )
            for data in list(self.worker_dict.values()):
                if data.process.sentinel in ended:
                    data.process.join(0)
                    self.handle_dead_worker(data)
        stopped = not self.worker_dict
        late = time.monotonic() - getattr(self, "_stop_requested_at", time.monotonic())
        if not stopped and not self._cold_sent and late > self.COLD_AFTER_SECONDS:
            self._cold_sent = True
            for worker in list(self.worker_dict.values()):
                self.stop_worker(worker, signal.SIGTERM)
        return stopped


LISTENER_WAIT_SECONDS = 60.0


def wait_for_listener(url: str, seconds: float) -> None:
    """Until something accepts TCP connections at the URL's host and port (bounded)."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)


def keep_status_link(settings: WorkerSettings, workers_started: EventType | None = None) -> None:
    """Stay connected to the gateway so its health shows this pool and its tools while idle.
    The gateway is ready once a pool said hello, so the hello waits for `workers_started`: the
    pool's workers are forked (after its warm-up) and can take jobs.

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
    # The gateway starts beside the pool (`make run`): connect as soon as it listens, rather than
    # at the link's next backoff step (0.5, 1, 2 s...), since readiness waits for this hello.
    if workers_started is not None:
        workers_started.wait(LISTENER_WAIT_SECONDS)
    wait_for_listener(settings.gateway_url, LISTENER_WAIT_SECONDS)
    while True:  # the client reconnects by itself once connected; keep trying until it is
        try:
            link.connect()
            break
        except Exception as exc:
            log.warning("status link to the gateway not up yet", error=str(exc))
    # A terminal's Ctrl-C is for the pool, which ends this link (Socket.IO's client installed a
    # handler of its own on connecting).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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
    warm_ytdlp(tools.ffmpeg)  # before the pool forks: no job pays yt-dlp's first use (worker.warmup)
    # Forked after the warm-up, so it shares the warmed pages with the pool rather than keeping
    # the pre-warm-up ones for itself (about 20 MiB of PSS); it says hello once the workers run.
    fork = multiprocessing.get_context("fork")
    workers_started = fork.Event()
    status = fork.Process(
        target=keep_status_link, args=(settings, workers_started), name="haul-status-link", daemon=True
    )
    status.start()
    pool = PromptStopPool(
        [settings.queue_name],
        connection=Redis.from_url(settings.redis_url),
        num_workers=settings.worker_processes,
        serializer=JSONSerializer,
        worker_class=LinkedWorker,
    )
    pool.workers_started = workers_started
    pool.start(logging_level=settings.log_level.upper())


if __name__ == "__main__":
    main()
