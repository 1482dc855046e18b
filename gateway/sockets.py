"""The Socket.IO namespaces: `/worker` for workers, `/jobs` for browsers.

Every inbound payload is validated against the shared contract; a bad one is dropped and
counted, and the handler carries on. Nothing here can raise into python-socketio.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import socketio
import structlog
from pydantic import ValidationError

from gateway import views
from gateway.assignments import WorkerAssignments
from gateway.claims import ClaimVerifier, Verdict, claim_record, new_claim_secret
from gateway.delivered import delivered_file_matches
from gateway.jobstore_client import JobstoreClient
from gateway.metrics import GatewayMetrics
from gateway.progress import Offered, ProgressBuffer, ProgressFlusher
from gateway.worker_tokens import WorkerTokens
from haul.contract.browser import SubscribeRequest
from haul.contract.events import (
    BROWSER_NAMESPACE,
    WORKER_NAMESPACE,
    ClaimReply,
    ClaimRequest,
    CollectionEvent,
    CompletedEvent,
    ControlMessage,
    FailedEvent,
    ProgressEvent,
    TerminalReply,
    WorkerHello,
)
from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.runtime.tokens import token_accepted

log = structlog.get_logger(__name__)

ALL_JOBS_ROOM = "jobs:all"
SNAPSHOT_PAGE = 100


def job_room(job_id: str) -> str:
    return f"job:{job_id}"


@dataclass
class WorkerRegistry:
    """What each connected worker said about itself in its `hello` (for `/health`)."""

    hello: dict[str, WorkerHello] = field(default_factory=dict)  # sid -> hello


class WorkerControl:
    """Carries `control` messages to this gateway's own `/worker` connections."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio

    async def send(self, sid: str, message: ControlMessage) -> None:
        """Deliver one `control` message to one worker connection of this gateway."""
        await self._sio.emit("control", message.wire(), to=sid, namespace=WORKER_NAMESPACE, ignore_queue=True)


def _refusal_for(exc: grpc.aio.AioRpcError) -> str:
    """What a worker is told when jobstore did not answer a claim or an outcome: resend, or not."""
    if exc.code() is grpc.StatusCode.INVALID_ARGUMENT:
        return "invalid"  # final: the same payload would be refused again
    return "unavailable"


class CheckedNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Every event handler takes (sid, data). Anything sent with more arguments is dropped
    and counted here, instead of raising TypeError inside python-socketio."""

    metrics: GatewayMetrics

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event not in ("connect", "disconnect") and len(args) > 2:
            self.metrics.socket_events.labels(self.namespace, event, "dropped").inc()
            return {"ok": False, "refusal": "invalid"}
        return await super().trigger_event(event, *args)


def _token_matches(auth: Any, accepted: Sequence[str]) -> bool:
    token = auth.get("token") if isinstance(auth, dict) else None
    return isinstance(token, str) and token_accepted(token, accepted)


class WorkerNamespace(CheckedNamespace):
    def __init__(
        self,
        tokens: WorkerTokens,
        jobstore: JobstoreClient,
        flusher: ProgressFlusher,
        assignments: WorkerAssignments,
        registry: WorkerRegistry,
        metrics: GatewayMetrics,
        *,
        data_dir: Path,
    ) -> None:
        super().__init__(WORKER_NAMESPACE)
        self._tokens = tokens
        # sid -> the one worker id its per-worker token allows; shared-token connections are absent.
        self._bound: dict[str, str] = {}
        # Connections with a per-worker token that named another worker: refused until they leave.
        self._impostors: set[str] = set()
        self._jobstore = jobstore
        self._claims = ClaimVerifier(jobstore)
        self._data_dir = data_dir
        self._flusher = flusher
        self._buffer: ProgressBuffer = flusher.buffer
        self._assignments = assignments
        self._registry = registry
        self._metrics = self.metrics = metrics

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        credential = self._tokens.identify(auth)
        if credential is None:
            self._metrics.socket_events.labels(WORKER_NAMESPACE, "connect", "refused").inc()
            raise socketio.exceptions.ConnectionRefusedError("a valid worker token is required")
        if credential.worker_id is not None:
            self._bound[sid] = credential.worker_id
        self._metrics.connected_workers.inc()

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._assignments.disconnected(sid)
        self._claims.disconnected(sid)
        self._buffer.sender_left(sid)
        self._registry.hello.pop(sid, None)
        self._bound.pop(sid, None)
        self._impostors.discard(sid)
        self._metrics.connected_workers.dec()

    def _parse(self, model: type[Any], event: str, data: Any) -> Any:
        try:
            parsed = model.model_validate(data)
        except (ValidationError, TypeError, ValueError):
            self._metrics.socket_events.labels(WORKER_NAMESPACE, event, "dropped").inc()
            return None
        self._metrics.socket_events.labels(WORKER_NAMESPACE, event, "accepted").inc()
        return parsed

    def _speaks_as_another(self, sid: str, event: str, worker_id: str | None) -> bool:
        """True (logged and counted) when `sid`'s per-worker token is bound to another id."""
        bound = self._bound.get(sid)
        if sid not in self._impostors and (bound is None or worker_id is None or worker_id == bound):
            return False
        self._impostors.add(sid)
        self._metrics.socket_events.labels(WORKER_NAMESPACE, event, "refused").inc()
        log.warning(
            "refused a worker that named another worker than its token's",
            socket_event=event,
            token_worker_id=bound,
            presented_worker_id=worker_id,
        )
        return True

    async def on_hello(self, sid: str, data: Any = None) -> None:
        hello = self._parse(WorkerHello, "hello", data)
        if hello is not None and not self._speaks_as_another(sid, "hello", hello.worker_id):
            self._registry.hello[sid] = hello

    async def on_claim(self, sid: str, data: Any = None) -> dict[str, Any]:
        request = self._parse(ClaimRequest, "claim", data)
        if request is None:
            return ClaimReply(ok=False, refusal="invalid").wire()
        hello = self._registry.hello.get(sid)
        if self._speaks_as_another(sid, "claim", hello.worker_id if hello else None):
            return ClaimReply(ok=False, refusal="wrong_worker").wire()
        # Without a hello, a per-worker token still names the worker; a shared one only the connection.
        worker_id = hello.worker_id if hello else self._bound.get(sid, sid)
        secret = new_claim_secret()
        try:
            reply = await self._jobstore.claim(request.job_id, claim_record(worker_id, secret))
        except grpc.aio.AioRpcError as exc:
            self._metrics.jobstore_errors.labels(exc.code().name).inc()
            return ClaimReply(ok=False, refusal=_refusal_for(exc)).wire()
        if not reply.accepted:
            return ClaimReply(ok=False, refusal=views.REFUSAL_NAMES.get(reply.refusal, "refused")).wire()
        self._claims.claimed(sid, request.job_id, reply.attempt)
        self._assignments.claimed(request.job_id, sid, reply.attempt)
        return ClaimReply(
            ok=True, attempt=reply.attempt, job=views.job_spec(reply.job), claim_secret=secret
        ).wire()

    async def _refusal_unless_claimant(
        self, sid: str, event_name: str, event: ProgressEvent | CompletedEvent | FailedEvent | CollectionEvent
    ) -> str | None:
        """None when `sid` speaks for the event's attempt; otherwise the refusal, counted.

        Every worker holds the same token, so only the claim (or its secret, after a reconnect)
        says which connection may report for, finish or steer a job.
        """
        verdict = await self._claims.speaks_for(sid, event.job_id, event.attempt, event.claim_secret)
        if verdict is Verdict.PROVEN:
            return None
        if verdict is Verdict.UNKNOWN:
            self._metrics.socket_events.labels(WORKER_NAMESPACE, event_name, "unverified").inc()
            return "unavailable"
        self._metrics.socket_events.labels(WORKER_NAMESPACE, event_name, "not_claimant").inc()
        log.warning("refused an event from a connection that did not claim the job",
                    job_id=event.job_id, attempt=event.attempt, worker_event=event_name, sid=sid)  # fmt: skip
        return "not_claimant"

    async def on_progress(self, sid: str, data: Any = None) -> None:
        if not self._buffer.admit(sid):  # before parsing: a flood costs as little as possible
            self._metrics.socket_events.labels(WORKER_NAMESPACE, "progress", "throttled").inc()
            return
        event = self._parse(ProgressEvent, "progress", data)
        if event is None:
            return
        if await self._refusal_unless_claimant(sid, "progress", event) is not None:
            return
        offered = self._buffer.offer(event, sid)
        if not offered:
            self._metrics.socket_events.labels(WORKER_NAMESPACE, "progress", "stale").inc()
            return
        self._assignments.reported_progress(event.job_id, sid, event.attempt)
        if offered is Offered.NEW_STAGE:  # a browser sees a new stage at once, not at the next tick
            self._flusher.flush_soon(event.job_id)

    async def on_completed(self, sid: str, data: Any = None) -> dict[str, Any]:
        event: CompletedEvent | None = self._parse(CompletedEvent, "completed", data)
        if event is None:
            return TerminalReply(ok=False, refusal="invalid").wire()
        refusal = await self._refusal_unless_claimant(sid, "completed", event)
        if refusal is not None:
            return TerminalReply(ok=False, refusal=refusal).wire()
        if not await delivered_file_matches(self._data_dir, event):
            self._metrics.socket_events.labels(WORKER_NAMESPACE, "completed", "file_mismatch").inc()
            log.warning("refused a completion whose file is not in place as reported", job_id=event.job_id)
            return TerminalReply(ok=False, refusal="file_mismatch").wire()
        request = pb.CompleteJobRequest(
            job_id=event.job_id,
            attempt=event.attempt,
            filename=event.filename,
            output_path=event.output_path,
            size=event.size,
            sha256=event.sha256,
            archive_id=event.archive_id or "",
        )
        if event.meta is not None:
            request.meta.CopyFrom(pb.JobMeta(**event.meta.model_dump()))
        return await self._finish(event.job_id, lambda: self._jobstore.complete(request))

    async def on_failed(self, sid: str, data: Any = None) -> dict[str, Any]:
        event: FailedEvent | None = self._parse(FailedEvent, "failed", data)
        if event is None:
            return TerminalReply(ok=False, refusal="invalid").wire()
        refusal = await self._refusal_unless_claimant(sid, "failed", event)
        if refusal is not None:
            return TerminalReply(ok=False, refusal=refusal).wire()
        request = pb.FailJobRequest(
            job_id=event.job_id,
            attempt=event.attempt,
            error_code=event.error_code,
            error_message=event.message,
            retryable=event.retryable,
        )
        return await self._finish(event.job_id, lambda: self._jobstore.fail(request))

    async def on_collection(self, sid: str, data: Any = None) -> dict[str, Any]:
        """The job's URL is a collection: jobstore creates its children (the cap is jobstore's)."""
        event: CollectionEvent | None = self._parse(CollectionEvent, "collection", data)
        if event is None:
            return TerminalReply(ok=False, refusal="invalid").wire()
        refusal = await self._refusal_unless_claimant(sid, "collection", event)
        if refusal is not None:
            return TerminalReply(ok=False, refusal=refusal).wire()
        request = pb.ReportCollectionRequest(
            job_id=event.job_id,
            attempt=event.attempt,
            title=event.title,
            listed=event.listed,
            truncated=event.truncated,
            entries=[
                pb.CollectionEntry(
                    key=e.key,
                    url=e.url,
                    title=e.title,
                    index=e.index,
                    refused=e.refused or "",
                    archive_id=e.archive_id or "",
                )
                for e in event.entries
            ],
        )
        return await self._finish(event.job_id, lambda: self._jobstore.report_collection(request))

    async def _finish(self, job_id: str, call: Any) -> dict[str, Any]:
        """Terminal events: flush the job's pending progress first, ack only after the commit.

        The job is released first: the change feed may announce the outcome before the reply
        arrives, and the worker reporting it must not be told to abort its own job.
        """
        self._assignments.released(job_id)
        try:
            await self._flusher.flush_job(job_id)
            reply: pb.FinishJobResponse | pb.ReportCollectionResponse = await call()
        except grpc.aio.AioRpcError as exc:
            self._metrics.jobstore_errors.labels(exc.code().name).inc()
            return TerminalReply(ok=False, refusal=_refusal_for(exc)).wire()
        self._buffer.forget(job_id)
        if not reply.accepted:
            return TerminalReply(ok=False, refusal=views.REFUSAL_NAMES.get(reply.refusal, "refused")).wire()
        return TerminalReply(ok=True).wire()


def _error(code: str, message: str) -> dict[str, Any]:
    return views.error_json(code, message)


class BrowserNamespace(CheckedNamespace):
    def __init__(self, api_tokens: Sequence[str], jobstore: JobstoreClient, metrics: GatewayMetrics) -> None:
        """`api_tokens`: every token a browser may present (several while rotating); none: open."""
        super().__init__(BROWSER_NAMESPACE)
        self._tokens = tuple(api_tokens)
        self._jobstore = jobstore
        self._metrics = self.metrics = metrics

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if self._tokens and not _token_matches(auth, self._tokens):
            self._metrics.socket_events.labels(BROWSER_NAMESPACE, "connect", "refused").inc()
            raise socketio.exceptions.ConnectionRefusedError("a valid API token is required")

    async def on_subscribe(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Join a job's room (answer: its snapshot) or the list feed (answer: the newest jobs)."""
        try:
            request = SubscribeRequest.model_validate(data)
        except (ValidationError, TypeError, ValueError):
            self._metrics.socket_events.labels(BROWSER_NAMESPACE, "subscribe", "dropped").inc()
            return _error("invalid_request", "send {jobId} or {all: true}")
        self._metrics.socket_events.labels(BROWSER_NAMESPACE, "subscribe", "accepted").inc()
        try:
            if request.jobId is not None:
                reply = await self._jobstore.get(request.jobId)
                await self.enter_room(sid, job_room(request.jobId))
                return views.job_snapshot(reply.job)
            if request.all:
                await self.enter_room(sid, ALL_JOBS_ROOM)
                page = await self._jobstore.list_jobs(pb.ListJobsRequest(page_size=SNAPSHOT_PAGE))
                return views.list_snapshot(page)
        except grpc.aio.AioRpcError as exc:
            if exc.code() is grpc.StatusCode.NOT_FOUND:
                return _error("not_found", "no such job")
            return _error("jobstore_unavailable", "the job store is not reachable right now")
        return _error("invalid_request", "send {jobId} or {all: true}")

    async def on_unsubscribe(self, sid: str, data: Any = None) -> None:
        try:
            request = SubscribeRequest.model_validate(data)
        except (ValidationError, TypeError, ValueError):
            return
        if request.jobId is not None:
            await self.leave_room(sid, job_room(request.jobId))
        if request.all:
            await self.leave_room(sid, ALL_JOBS_ROOM)
