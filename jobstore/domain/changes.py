"""Changes to jobs, as WatchJobs streams them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from jobstore.domain.model import Job


class ChangeKind(StrEnum):
    UPSERTED = "upserted"
    DELETED = "deleted"


@dataclass(frozen=True)
class JobChange:
    kind: ChangeKind
    job: Job
