"""What the use cases answer a worker's claim or report: shared by the job and collection use
cases (jobstore.service, jobstore.collection_service) and turned into replies by the servicer."""

from __future__ import annotations

from dataclasses import dataclass

from jobstore.domain.model import Job, Refusal


@dataclass(frozen=True)
class Outcome:
    """The answer to a worker: applied, or refused and why; with the job when it exists."""

    refusal: Refusal | None
    job: Job | None

    @property
    def accepted(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True)
class CollectionOutcome(Outcome):
    """The answer to a worker's collection report: also how many children it created."""

    created: int = 0
