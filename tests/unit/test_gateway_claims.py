"""The claim proof (gateway.claims) and the delivered-file check (gateway.delivered), as pure logic."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Any, cast

import grpc
import pytest

from gateway.claims import ClaimVerifier, Verdict, claim_record, new_claim_secret, record_proves
from gateway.delivered import delivered_file_matches
from gateway.jobstore_client import JobstoreClient
from haul.contract import limits
from haul.contract.events import CompletedEvent
from haul.jobstore.v1 import jobstore_pb2 as pb

JOB = str(uuid.uuid4())


class FakeJobstore:
    """GetJob only: the job as jobstore stored the claim, or an error."""

    def __init__(self, job: pb.Job | None = None, error: grpc.StatusCode | None = None) -> None:
        self.job, self.error, self.calls = job, error, 0

    async def get(self, job_id: str) -> pb.GetJobResponse:
        self.calls += 1
        if self.error is not None:
            raise grpc.aio.AioRpcError(self.error, grpc.aio.Metadata(), grpc.aio.Metadata())
        return pb.GetJobResponse(job=self.job)


def verifier(store: FakeJobstore, lookups: int = 8) -> ClaimVerifier:
    return ClaimVerifier(cast(JobstoreClient, store), lookups)


def test_only_the_claims_own_secret_matches_its_record_even_with_a_long_worker_id() -> None:
    secret = new_claim_secret()
    record = claim_record("w" * 1000, secret)
    assert len(record) == limits.MAX_SHORT_TEXT
    assert record_proves(record, secret)
    assert not record_proves(record, new_claim_secret())
    assert secret not in record, "only a digest of the secret leaves the gateway"
    assert claim_record("w-1", secret).startswith("w-1#"), "the history still names the worker first"


async def test_the_claiming_connection_speaks_for_its_attempt_without_asking_jobstore() -> None:
    store = FakeJobstore()
    claims = verifier(store)
    claims.claimed("legit", JOB, 1)
    assert await claims.speaks_for("legit", JOB, 1, None) is Verdict.PROVEN
    assert await claims.speaks_for("legit", JOB, 2, None) is Verdict.REFUSED
    assert await claims.speaks_for("rogue", JOB, 1, None) is Verdict.REFUSED
    assert store.calls == 0


async def test_a_reconnection_is_proven_by_the_secret_and_a_guess_is_not() -> None:
    secret = new_claim_secret()
    store = FakeJobstore(pb.Job(id=JOB, attempt=3, worker_id=claim_record("w1", secret)))
    claims = verifier(store)
    assert await claims.speaks_for("rogue", JOB, 3, new_claim_secret()) is Verdict.REFUSED
    assert await claims.speaks_for("back", JOB, 2, secret) is Verdict.REFUSED, "another attempt"
    assert await claims.speaks_for("back", JOB, 3, secret) is Verdict.PROVEN
    assert await claims.speaks_for("back", JOB, 3, None) is Verdict.PROVEN, "remembered per connection"
    assert store.calls == 3
    claims.disconnected("back")
    assert await claims.speaks_for("back", JOB, 3, None) is Verdict.REFUSED


async def test_a_connection_gets_a_bounded_number_of_lookups_and_an_outage_uses_none() -> None:
    store = FakeJobstore(error=grpc.StatusCode.UNAVAILABLE)
    claims = verifier(store, lookups=2)
    for _ in range(3):
        assert await claims.speaks_for("w", JOB, 1, new_claim_secret()) is Verdict.UNKNOWN
    store.error = grpc.StatusCode.NOT_FOUND
    for _ in range(2):
        assert await claims.speaks_for("w", JOB, 1, new_claim_secret()) is Verdict.REFUSED
    calls = store.calls
    assert await claims.speaks_for("w", JOB, 1, new_claim_secret()) is Verdict.REFUSED
    assert store.calls == calls, "over the cap, jobstore is not asked"


def completed(data: bytes, filename: str = "clip.mp4", **changes: Any) -> CompletedEvent:
    fields: dict[str, Any] = {
        "job_id": JOB, "attempt": 1, "seq": 1, "filename": filename, "output_path": f"{JOB}/{filename}",
        "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
    }  # fmt: skip
    return CompletedEvent(**(fields | changes))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "data" / JOB).mkdir(parents=True)
    (tmp_path / "data" / JOB / "clip.mp4").write_bytes(b"payload")
    return tmp_path / "data"


async def test_the_reported_file_matches_only_with_its_size_and_hash(data_dir: Path) -> None:
    assert await delivered_file_matches(data_dir, completed(b"payload"))
    assert not await delivered_file_matches(data_dir, completed(b"payloaX"))
    assert not await delivered_file_matches(data_dir, completed(b"x", sha256="0" * 64))
    assert not await delivered_file_matches(data_dir, completed(b"payload", filename="other.mp4"))
    assert not await delivered_file_matches(data_dir, completed(b"payload", output_path="elsewhere/clip.mp4"))


async def test_a_file_outside_the_jobs_folder_or_not_regular_never_matches(data_dir: Path) -> None:
    outside = data_dir.parent / "secret.bin"
    outside.write_bytes(b"payload")
    (data_dir / JOB / "link.mp4").symlink_to(outside)
    assert not await delivered_file_matches(data_dir, completed(b"payload", filename="link.mp4"))
    (data_dir / "loose.mp4").write_bytes(b"payload")
    assert not await delivered_file_matches(
        data_dir, completed(b"payload", filename="../loose.mp4", output_path=f"{JOB}/../loose.mp4")
    )
    os.mkfifo(data_dir / JOB / "pipe.mp4")
    assert not await delivered_file_matches(data_dir, completed(b"", filename="pipe.mp4"))
