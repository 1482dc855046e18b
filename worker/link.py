"""The worker's side of `/worker`: claim, progress, outcomes, and control from the gateway.

It runs in the RQ work horse with the synchronous python-socketio client, whose own thread
receives `control` messages while the download runs in the main thread. If the connection
drops, the download goes on; the client reconnects with backoff and re-sends `hello` and the
latest progress. Outcomes are re-sent until the gateway acknowledges them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import socketio
import structlog

from haul.contract.events import (
    WORKER_NAMESPACE,
    ClaimReply,
    ControlMessage,
    ProgressEvent,
    TerminalReply,
    WorkerHello,
)
from haul.runtime.timeline import mark
from worker.samples import Sample

log = structlog.get_logger(__name__)

CALL_TIMEOUT = 15.0
AFTER_DOWNLOAD = frozenset({"merging", "postprocessing", "finalizing"})
CONNECT_TIMEOUT = 15.0
CONNECT_WINDOW = 60.0


class GatewayLink:
    def __init__(self, url: str, token: str, worker_id: str, interval: float, tools: dict[str, str]) -> None:
        self._url = url
        self._token = token
        self._hello = WorkerHello(worker_id=worker_id, tools=tools)
        self._interval = interval
        # The link to the gateway never goes through the egress guard (which would refuse a
        # private address), whatever proxy variables the job's environment holds.
        gateway_host = urlsplit(url).hostname or ""
        self._client = socketio.Client(
            reconnection=True,
            reconnection_delay=0.5,
            reconnection_delay_max=5,
            websocket_extra_options={"http_no_proxy": [gateway_host]},
        )
        self._client.on("connect", self._on_connect, namespace=WORKER_NAMESPACE)
        self._client.on("control", self._on_control, namespace=WORKER_NAMESPACE)
        self._lock = threading.Lock()
        self.job_id: str | None = None
        self.attempt = 0
        # The claim reply's proof that this worker holds the attempt; it goes on every event.
        self.claim_secret: str | None = None
        self._seq = 0
        self._last_sent = 0.0
        self._latest: ProgressEvent | None = None
        # The last byte counts of a download: (job id, attempt), downloaded, total.
        self._counted: tuple[tuple[str | None, int], int, int | None] = ((None, 0), 0, None)
        self.stop_request: ControlMessage | None = None
        # Called (from the Socket.IO thread) with the action when the gateway says stop.
        self.on_stop: Callable[[str], None] = lambda _action: None

    def connect(self, within: float = CONNECT_WINDOW) -> None:
        """Connect, retrying with backoff for `within` seconds: a gateway restart is not a failure."""
        deadline = time.monotonic() + within
        delay = 0.5
        while True:
            try:
                self._client.connect(
                    self._url,
                    namespaces=[WORKER_NAMESPACE],
                    auth={"token": self._token},
                    transports=["websocket"],
                    wait_timeout=CONNECT_TIMEOUT,
                )
                return
            except socketio.exceptions.ConnectionError as exc:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning(
                    "gateway not reachable yet; retrying", url=self._url, error=str(exc), retry_in=delay
                )
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def close(self) -> None:
        self._client.disconnect()

    def wait(self) -> None:
        """Block while the client is connected or reconnecting."""
        self._client.wait()

    def _on_connect(self) -> None:
        self._client.emit("hello", self._hello.wire(), namespace=WORKER_NAMESPACE)
        with self._lock:
            latest = self._latest
        if latest is not None:  # after a reconnect, the gateway gets the latest state at once
            self._client.emit("progress", latest.wire(), namespace=WORKER_NAMESPACE)

    def _on_control(self, data: Any) -> None:
        try:
            message = ControlMessage.model_validate(data)
        except ValueError:
            log.warning("ignored a malformed control message")
            return
        if message.job_id == self.job_id:
            log.info("control received", job_id=message.job_id, action=message.action, reason=message.reason)
            self.stop_request = message
            self.on_stop(message.action)

    def claim(self, job_id: str) -> ClaimReply:
        reply = self._client.call(
            "claim", {"jobId": job_id}, namespace=WORKER_NAMESPACE, timeout=CALL_TIMEOUT
        )
        claim = ClaimReply.model_validate(reply)
        if claim.ok and claim.attempt:
            self.job_id, self.attempt, self.claim_secret = job_id, claim.attempt, claim.claim_secret
        return claim

    def progress(self, sample: Sample, force: bool = False) -> None:
        """Report a reading; readings of the same stage closer together than the interval are
        skipped unless forced."""
        now = time.monotonic()
        downloaded, total = sample.downloaded_bytes, sample.total_bytes
        attempt_key = (self.job_id, self.attempt)
        if downloaded:
            self._counted = (attempt_key, downloaded, total)
        elif sample.stage in AFTER_DOWNLOAD and self._counted[0] == attempt_key:
            # Merging, converting and finishing count no bytes: what was downloaded stays shown.
            _, downloaded, total = self._counted
        # A reading of a new stage goes at once (the first `downloading` is what a user waits for);
        # a job has a handful of stages, so the interval still bounds what is sent.
        new_stage = self._latest is None or self._latest.stage != sample.stage
        if self.job_id is None or (not force and not new_stage and now - self._last_sent < self._interval):
            return
        with self._lock:
            self._seq += 1
            event = ProgressEvent(
                job_id=self.job_id,
                attempt=self.attempt,
                seq=self._seq,
                claim_secret=self.claim_secret,
                stage=sample.stage,  # type: ignore[arg-type]
                progress=sample.progress,
                downloaded_bytes=downloaded,
                total_bytes=total,
                speed=sample.speed,
                eta=sample.eta,
            )
            self._latest = event
            self._last_sent = now
        if self._client.connected:
            self._client.emit("progress", event.wire(), namespace=WORKER_NAMESPACE)
        mark(f"sent {sample.stage}", job_id=self.job_id)

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def send_outcome(self, event: str, payload: dict[str, Any], window: float) -> TerminalReply:
        """Send `completed`, `failed` or `collection` until the gateway gives a final answer, for at
        most `window` s. Each is safe to resend: jobstore answers a repeat of what it applied as applied."""
        deadline = time.monotonic() + window
        delay = 0.5
        if self.claim_secret is not None:  # the outcome needs the claim's proof, like progress
            payload = {**payload, "claimSecret": self.claim_secret}
        while True:
            try:
                reply = TerminalReply.model_validate(
                    self._client.call(event, payload, namespace=WORKER_NAMESPACE, timeout=CALL_TIMEOUT)
                )
                if reply.ok or reply.refusal != "unavailable":
                    return reply
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError) as exc:
                log.warning(
                    "outcome not acknowledged yet; resending", worker_event=event, error=type(exc).__name__
                )
            if time.monotonic() + delay > deadline:
                return TerminalReply(ok=False, refusal="unacknowledged")
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
