"""Turns jobstore's WatchJobs stream into browser events, and hands each change to the
worker assignments, which decide whether the worker holding the job must stop.

Every gateway instance watches jobstore and delivers to its *own* connections only
(`ignore_queue=True`), so each browser gets exactly one copy of each event whichever gateway
the job's worker talks to, and changes made by anyone, including a program calling jobstore
directly, reach browsers and workers alike.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from typing import Any

import grpc
import socketio
import structlog

from gateway import views
from gateway.assignments import WorkerAssignments
from gateway.jobstore_client import JobstoreClient
from gateway.metrics import GatewayMetrics
from haul.contract.events import BROWSER_NAMESPACE
from haul.jobstore.v1 import jobstore_pb2 as pb

log = structlog.get_logger(__name__)

ALL_JOBS_ROOM = "jobs:all"
SEEN_LIMIT = 100_000
# Seconds between attempts before the first stream ever opened (then backoff, 0.2 s doubling).
STARTING_RETRY = 0.1


class Fanout:
    """Delivers jobstore's changes to this gateway's browsers and worker assignments."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        jobstore: JobstoreClient,
        assignments: WorkerAssignments,
        metrics: GatewayMetrics,
    ) -> None:
        self._sio = sio
        self._jobstore = jobstore
        self._assignments = assignments
        self._metrics = metrics
        # The last (status, stage, attempt, seq) seen per job: a bounded cache, to tell
        # progress from status changes and to skip repeats of the same state.
        self._seen: OrderedDict[str, tuple[int, int, int, int]] = OrderedDict()
        self.connected = asyncio.Event()

    async def run(self) -> None:
        """Watch jobstore until cancelled, resubscribing whenever the stream breaks."""
        delay, first = 0.2, True
        while True:
            call = self._jobstore.watch()
            try:
                await call.wait_for_connection()
                self.connected.set()
                if not first:
                    # We may have missed changes while the stream was down: ask browsers to re-snapshot.
                    await self._emit("resync", {}, ALL_JOBS_ROOM, everyone=True)
                first, delay = False, 0.2
                log.info("watching jobstore changes")
                async for change in call:
                    self._metrics.feed_changes.inc()
                    try:
                        await self.apply(change)
                    except Exception:
                        # Outbound shapes are validated: one change that breaks its shape must not
                        # end the stream for every other job.
                        log.exception("could not deliver a job change", job_id=change.job.id)
            except grpc.aio.AioRpcError as exc:
                log.warning(
                    "jobstore change stream broke; resubscribing", code=exc.code().name, retry_in=delay
                )
            except asyncio.CancelledError:
                call.cancel()
                raise
            finally:
                self.connected.clear()
            self._seen.clear()
            await asyncio.sleep(delay)
            # Until the first stream, jobstore is most likely still starting beside this gateway
            # (`make run` starts them together), and readiness waits for the stream: retry often.
            delay = STARTING_RETRY if first else min(delay * 2, 5.0)

    async def apply(self, change: pb.JobChange) -> None:
        """Deliver one change: browser events first, then the assignments' verdict on the worker."""
        job = change.job
        if change.kind == pb.CHANGE_KIND_DELETED:
            self._seen.pop(job.id, None)
            await self._emit("job-update", views.deleted_event(job.id), job.id)
            await self._assignments.job_deleted(job.id)
            return
        state = (job.status, job.stage, job.attempt, job.progress_seq)
        previous = self._seen.pop(job.id, None)
        self._seen[job.id] = state
        while len(self._seen) > SEEN_LIMIT:
            self._seen.popitem(last=False)
        if previous == state:
            return
        status_changed = previous is None or previous[0] != job.status or previous[2] != job.attempt
        if status_changed or (previous is not None and previous[1] != job.stage):
            await self._emit("job-update", views.update_event(job), job.id)
        if job.status == pb.JOB_STATUS_RUNNING:
            await self._emit("progress", views.progress_event(job), job.id)
        elif status_changed and job.status == pb.JOB_STATUS_COMPLETED:
            await self._emit("completed", views.completed_event(job), job.id)
        elif status_changed and job.status == pb.JOB_STATUS_FAILED:
            await self._emit("failed", views.failed_event(job), job.id)
        await self._assignments.job_changed(job, status_changed=status_changed)

    async def _emit(self, event: str, data: dict[str, Any], job_id: str, everyone: bool = False) -> None:
        rooms: Any = None if everyone else [f"job:{job_id}", ALL_JOBS_ROOM]
        with contextlib.suppress(Exception):
            await self._sio.emit(event, data, to=rooms, namespace=BROWSER_NAMESPACE, ignore_queue=True)
