"""What the client needs from haul, whichever way it talks to it (gateway REST or jobstore gRPC).

Jobs travel as the gateway's JSON shape (camelCase keys, lower-case status names, a `history`
list when read one at a time), so `--json` prints the same object over either transport.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from haul.contract import enums
from haul.contract.enums import AudioFormat, ControlAction, JobStatus, JobType, VideoContainer

if TYPE_CHECKING:
    from haulctl.follow import SocketWatch

Job = dict[str, Any]
OnUpdate = Callable[[Job], None]
OnNotice = Callable[[str], None]

STATUSES = tuple(status.value for status in JobStatus)
TERMINAL_STATUSES = frozenset(status.value for status in enums.TERMINAL_STATUSES)
JOB_TYPES = tuple(job_type.value for job_type in JobType)
AUDIO_FORMATS = tuple(audio.value for audio in AudioFormat)
VIDEO_CONTAINERS = tuple(container.value for container in VideoContainer)
ACTIONS = tuple(action.value for action in ControlAction)


def is_terminal(job: Job) -> bool:
    return job.get("status") in TERMINAL_STATUSES


@dataclass(frozen=True)
class Submission:
    """A download to create: `POST /downloads {url, type, options}` or CreateJob."""

    url: str
    type: str = "auto"
    # The gateway's option names: maxHeight, audioFormat, videoContainer; unset ones are left out.
    options: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None

    def body(self) -> dict[str, Any]:
        return {"url": self.url, "type": self.type, "options": dict(self.options)}


@dataclass(frozen=True)
class JobList:
    items: list[Job]
    next_cursor: str | None

    def as_json(self) -> dict[str, Any]:
        return {"items": self.items, "nextCursor": self.next_cursor}


class JobApi(Protocol):
    def submit(self, submission: Submission) -> Job:
        """Create the job and return it as stored."""
        ...

    def get(self, job_id: str) -> Job:
        """One job with its status `history`."""
        ...

    def list(self, statuses: list[str], limit: int, cursor: str | None, parent: str | None = None) -> JobList:
        """Top-level jobs, newest first; with `parent`, that collection's entries in entry order."""
        ...

    def control(self, job_id: str, action: str) -> Job:
        """cancel, pause, resume or retry; the job after the action."""
        ...

    def delete(self, job_id: str) -> dict[str, Any]: ...

    def live_watch(self, job_id: str) -> Callable[[], SocketWatch] | None:
        """How to open the socket that carries the job's updates (`follow.follow_job`); None
        where there is none to open, and the job is polled."""
        ...

    def close(self) -> None: ...
