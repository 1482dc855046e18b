"""Domain errors. The gRPC layer maps each to one status code in one table."""

from __future__ import annotations


class JobstoreError(Exception):
    """Base of every error jobstore reports to its callers on purpose."""


class JobNotFound(JobstoreError):
    def __init__(self, job_id: object) -> None:
        super().__init__(f"job {job_id} not found")


class InvalidTransition(JobstoreError):
    """The job's status does not allow the requested action."""


class InvalidInput(JobstoreError):
    """A request field is malformed or out of bounds; nothing was changed."""


class IdempotencyConflict(JobstoreError):
    """An idempotency key was reused with a different request."""


class StoreUnavailable(JobstoreError):
    """The database cannot be reached right now; the call may be retried."""
