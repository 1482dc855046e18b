"""Changes to jobs, as WatchJobs streams them."""

from __future__ import annotations

from dataclasses import dataclass

from haul.contract.enums import ChangeKind
from jobstore.domain.model import Job

__all__ = ["ChangeKind", "JobChange"]


@dataclass(frozen=True)
class JobChange:
    kind: ChangeKind
    job: Job
