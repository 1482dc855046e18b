"""Which `/worker` connection may speak for an attempt: the one that claimed it, or its reconnection.

Every worker holds the same worker token, so the token proves only "a worker", never "the worker
of this job". Each successful claim therefore hands the claiming connection a random claim
secret, and every progress, completed and failed event must carry it.

Decision: jobstore keeps the proof. The gateway records the claim as `<worker id>#<digest>` in
the job's `worker_id` (which jobstore stores with the attempt at ClaimJob), where the digest is
a truncated SHA-256 of the secret. A worker that reconnects, to this gateway or another one,
proves itself by sending a secret whose digest matches the record of the attempt it names; any
gateway can check that with one GetJob, and caches the verdict per connection and job. We chose
this over an HMAC keyed by a secret derived from the worker token: every worker (and so any
rogue holding the token) could derive that key and forge proofs. The digest reveals nothing
usable: the secret is 128 random bits, and only its hash ever leaves the gateway.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets

import grpc

from gateway.jobstore_client import JobstoreClient
from haul.contract import limits

DIGEST_CHARS = 32  # 128 bits of SHA-256: as strong as the secret it stands for
# Distinct (job, attempt) pairs one connection may ask about. A worker's connection works on one
# job at a time; the cap keeps a rogue connection from turning events into a flood of GetJob.
LOOKUPS_PER_CONNECTION = 8


class Verdict(enum.Enum):
    PROVEN = "proven"
    REFUSED = "refused"
    UNKNOWN = "unknown"  # jobstore did not answer: ask again next time


def new_claim_secret() -> str:
    return secrets.token_urlsafe(16)


def claim_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:DIGEST_CHARS]


def claim_record(worker_id: str, secret: str) -> str:
    """What jobstore stores as the attempt's `worker_id` (and names in the job's history): the
    worker's own id, cut to fit if it must, then the digest, which is never cut."""
    return f"{worker_id[: limits.MAX_SHORT_TEXT - DIGEST_CHARS - 1]}#{claim_digest(secret)}"


def record_proves(record: str, secret: str) -> bool:
    _, _, digest = record.rpartition("#")
    return hmac.compare_digest(digest.encode(), claim_digest(secret).encode())


class ClaimVerifier:
    """Decides whether a connection speaks for an attempt, and remembers each proof per connection."""

    def __init__(
        self, jobstore: JobstoreClient, lookups_per_connection: int = LOOKUPS_PER_CONNECTION
    ) -> None:
        self._jobstore = jobstore
        self._lookups = lookups_per_connection
        # Only proofs are remembered; a refusal costs the connection one of its lookups instead.
        self._proven: dict[str, set[tuple[str, int]]] = {}  # sid -> (job id, attempt)
        self._looked_up: dict[str, int] = {}  # sid -> GetJob calls made for it

    def claimed(self, sid: str, job_id: str, attempt: int) -> None:
        """The connection `sid` just claimed `attempt` of the job through this gateway."""
        self._proven.setdefault(sid, set()).add((job_id, attempt))

    def disconnected(self, sid: str) -> None:
        self._proven.pop(sid, None)
        self._looked_up.pop(sid, None)

    async def speaks_for(self, sid: str, job_id: str, attempt: int, secret: str | None) -> Verdict:
        """Whether `sid` claimed this attempt, or proves with `secret` that it is the claimer."""
        if (job_id, attempt) in self._proven.get(sid, ()):
            return Verdict.PROVEN
        if secret is None or self._looked_up.get(sid, 0) >= self._lookups:
            return Verdict.REFUSED
        self._looked_up[sid] = self._looked_up.get(sid, 0) + 1
        try:
            job = (await self._jobstore.get(job_id)).job
        except grpc.aio.AioRpcError as exc:
            if exc.code() is not grpc.StatusCode.NOT_FOUND:
                self._looked_up[sid] -= 1  # jobstore's outage must not use up a real worker's lookups
                return Verdict.UNKNOWN
            return Verdict.REFUSED
        if job.attempt != attempt or not record_proves(job.worker_id, secret):
            return Verdict.REFUSED
        self.claimed(sid, job_id, attempt)
        return Verdict.PROVEN
