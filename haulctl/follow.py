"""Following one job to its end: live over the gateway's Socket.IO `/jobs`, else by polling.

Socket.IO delivers at most once, so even a live follower re-reads the job now and then, and
always re-reads it when an event says it finished (the events carry only a few fields). When
the socket cannot be opened, or drops, the follower polls the job instead.
"""

from __future__ import annotations

import contextlib
import queue
import time
from collections.abc import Callable
from typing import Any

from haulctl.api import Job, JobApi, JobList, OnNotice, OnUpdate, is_terminal
from haulctl.errors import EXIT_JOB_FAILED, CliError

NAMESPACE = "/jobs"
EVENTS = ("progress", "job-update", "completed", "failed", "resync")
POLL_INTERVAL = 0.5  # seconds between reads when polling
SAFETY_READ = 5.0  # with a live socket, re-read the job after this long without an event
LOST = "lost"

Event = tuple[str, dict[str, Any]]


class SocketWatch:
    """One job's events from `/jobs`: `subscribe {jobId}` answers with a snapshot, then
    `progress`, `job-update`, `completed`, `failed` and `resync` arrive in a queue."""

    def __init__(self, base_url: str, token: str | None, job_id: str, timeout: float) -> None:
        import socketio  # only `haul get` needs it; the other commands start faster without

        self._base_url, self._token, self._job_id, self._timeout = base_url, token, job_id, timeout
        self._events: queue.Queue[Event] = queue.Queue()
        self.snapshot: Job | None = None
        self._client = socketio.Client(reconnection=False)
        for name in EVENTS:
            self._client.on(name, self._recorder(name), namespace=NAMESPACE)
        self._client.on("disconnect", lambda *_: self._events.put((LOST, {})), namespace=NAMESPACE)

    def _recorder(self, name: str) -> Callable[..., None]:
        def record(data: Any = None, *_: Any) -> None:
            self._events.put((name, data if isinstance(data, dict) else {}))

        return record

    def open(self) -> Job:
        """Connect and subscribe; the job's snapshot. Raises on any failure."""
        auth = {"token": self._token} if self._token else None
        # websocket: the polling transport makes the sync client's disconnect block for ~30 s.
        self._client.connect(
            self._base_url, namespaces=[NAMESPACE], auth=auth, transports=["websocket"], wait_timeout=5
        )
        reply = self._client.call(
            "subscribe", {"jobId": self._job_id}, namespace=NAMESPACE, timeout=self._timeout
        )
        if not isinstance(reply, dict) or not isinstance(reply.get("job"), dict):
            error = reply.get("error", {}) if isinstance(reply, dict) else {}
            raise RuntimeError(f"subscribe refused: {error.get('message', reply)}")
        self.snapshot = reply["job"]
        return self.snapshot

    def next(self, timeout: float) -> Event | None:
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        # Closing a half-open connection must not hide the job's outcome.
        with contextlib.suppress(Exception):
            self._client.disconnect()


def _older(event: dict[str, Any], job: Job) -> bool:
    """True when the event describes an earlier state than `job` (attempt, then time)."""
    if "attempt" not in event or "updatedAt" not in event or not job.get("updatedAt"):
        return False
    return (event["attempt"], str(event["updatedAt"])) < (job.get("attempt", 0), str(job["updatedAt"]))


def merge_event(job: Job, name: str, data: dict[str, Any]) -> Job | None:
    """`job` with the event applied, or None when only a fresh read can say what the job is now."""
    if name == "job-update" and data.get("deleted"):
        raise CliError(f"job {job.get('id')} was deleted", "job_deleted", EXIT_JOB_FAILED)
    if name not in ("progress", "job-update"):
        return None  # completed, failed (the event lacks the final state) or resync
    if _older(data, job):
        return job
    merged = dict(job)
    if name == "progress":
        for key in ("stage", "progress", "downloadedBytes", "attempt", "updatedAt"):
            if key in data:
                merged[key] = data[key]
        for key in ("speed", "eta", "totalBytes"):  # absent means unknown now
            merged[key] = data.get(key)
        return merged
    for key in ("status", "stage", "progress", "attempt", "updatedAt"):
        if key in data:
            merged[key] = data[key]
    # A finished job's final state (file, sha256, error) is not in the event: read it.
    return None if is_terminal(merged) else merged


def follow_job(
    api: JobApi,
    job_id: str,
    on_update: OnUpdate,
    on_notice: OnNotice | None = None,
    until: Callable[[Job], bool] | None = None,
) -> Job:
    """Report the job's progress to `on_update` until it is completed, failed or cancelled (or
    `until` says so), live where `api` has a socket for it; `on_notice` hears, in words, when
    live updates are not available."""
    return JobFollower(lambda: api.get(job_id), api.live_watch(job_id), on_notice, until=until).run(on_update)


class JobFollower:
    """Calls `on_update` with each new state of the job and returns its final state."""

    def __init__(
        self,
        fetch: Callable[[], Job],
        open_watch: Callable[[], SocketWatch] | None = None,
        on_notice: OnNotice | None = None,
        poll_interval: float = POLL_INTERVAL,
        safety_read: float = SAFETY_READ,
        until: Callable[[Job], bool] | None = None,
    ) -> None:
        self._fetch = fetch
        self._open_watch = open_watch
        # Also stop at a state that says so (`haul get`: the job turned out to be a collection).
        # Events carry only a few fields, so with `until` a status or stage change is re-read.
        self._until = until
        self._on_notice = on_notice or (lambda _text: None)
        self._poll_interval = poll_interval
        self._safety_read = safety_read
        # "live" while the socket carries the updates, "polling" otherwise.
        self.mode = "polling"
        self.socket_error: str | None = None

    def run(self, on_update: OnUpdate) -> Job:
        job = self._fetch()
        on_update(job)
        watch = None if is_terminal(job) else self._connect()
        if watch is not None and watch.snapshot is not None:
            # The snapshot covers what changed between the first read and the subscription.
            job = self._fetch() if is_terminal(watch.snapshot) else {**job, **watch.snapshot}
        try:
            while not is_terminal(job) and not self._stops_at(job):
                if watch is None:
                    time.sleep(self._poll_interval)
                    job = self._fetch()
                else:
                    job = self._from_socket(job, watch)
                    if self.mode != "live":
                        watch.close()
                        watch = None
                on_update(job)
            return job
        finally:
            if watch is not None:
                watch.close()

    def _stops_at(self, job: Job) -> bool:
        return self._until is not None and self._until(job)

    def _connect(self) -> SocketWatch | None:
        if self._open_watch is None:
            return None
        watch = None
        try:
            watch = self._open_watch()
            watch.open()
        except Exception as exc:  # whatever went wrong, polling still works
            self.socket_error = str(exc) or type(exc).__name__
            self._on_notice(f"no live updates ({self.socket_error}); polling the job instead")
            if watch is not None:
                watch.close()
            return None
        self.mode = "live"
        return watch

    def _from_socket(self, job: Job, watch: SocketWatch) -> Job:
        event = watch.next(self._safety_read)
        if event is None:
            return self._fetch()
        name, data = event
        if name == LOST:
            self.mode, self.socket_error = "polling", "the socket connection was lost"
            self._on_notice("the live connection was lost; polling the job instead")
            return self._fetch()
        merged = merge_event(job, name, data)
        if merged is None or (self._until is not None and name == "job-update"):
            return self._fetch()
        return merged


# -- collections -------------------------------------------------------------------------------

COLLECTION_POLL = 1.0  # seconds between reads of a collection and its newly finished entries
FINISHED = ("completed", "failed", "cancelled")
ListChildren = Callable[[str, list[str], str | None], JobList]
OnItem = Callable[[Job], None]


def finished_counts(parent: Job) -> tuple[int, ...]:
    counts = parent.get("collection") or {}
    return tuple(int(counts.get(name) or 0) for name in FINISHED)


class CollectionFollower:
    """Follows a collection to its end: `on_parent` hears each read of the parent (its counts and
    aggregate progress), `on_item` each entry once it finished (and again if a retry ends it
    anew). Polled: a parent's roll-up changes its counts without a status change, which is
    all its live events would tell. The finished entries are listed (a page at a time, with
    `?parent=` and a status filter) only when the parent's counts of finished entries moved."""

    def __init__(
        self,
        fetch: Callable[[], Job],
        list_children: ListChildren,
        poll_interval: float = COLLECTION_POLL,
        page_size: int = 200,
    ) -> None:
        self._fetch = fetch
        self._list_children = list_children
        self._poll_interval = poll_interval
        self._page_size = page_size
        self._told: dict[str, str] = {}  # entry id -> the finished status it was reported with

    def run(self, on_parent: OnUpdate, on_item: OnItem) -> Job:
        seen: tuple[int, ...] | None = None
        while True:
            parent = self._fetch()
            on_parent(parent)
            counts = finished_counts(parent)
            if counts != seen:
                self._report_finished(str(parent["id"]), parent, on_item)
                seen = counts
            if is_terminal(parent):
                return parent
            time.sleep(self._poll_interval)

    def _report_finished(self, parent_id: str, parent: Job, on_item: OnItem) -> None:
        total = int((parent.get("collection") or {}).get("total") or 0)
        cursor: str | None = None
        for _ in range(total // self._page_size + 2):  # the pages of `total` entries, and one more
            page = self._list_children(parent_id, list(FINISHED), cursor)
            for child in page.items:
                if self._told.get(str(child["id"])) != child.get("status"):
                    self._told[str(child["id"])] = str(child.get("status"))
                    on_item(child)
            cursor = page.next_cursor
            if not cursor:
                return
