"""The gateway's gRPC client for jobstore: deadlines on every call, retries only where safe.

Retries are declared in gRPC's service config, so the channel itself retries UNAVAILABLE for
the idempotent methods and never for the others. CreateJob counts as idempotent because the
gateway always sends an idempotency key (the caller's, or one it makes up per request).
ControlJob and DeleteJob are not: a second cancel or delete would answer differently.
"""

from __future__ import annotations

import json
from typing import Any

import grpc

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc

SERVICE = "haul.jobstore.v1.JobStoreService"
IDEMPOTENT_METHODS = (
    "CreateJob", "GetJob", "ListJobs", "ClaimJob", "ReportProgress", "CompleteJob", "FailJob", "GetStats",
    # A resent collection report creates nothing: children are keyed by (parent, entry key).
    "ReportCollection",
    "ListArchive",
    "GetSubscription", "ListSubscriptions",
)  # fmt: skip

SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{"service": SERVICE, "method": m} for m in IDEMPOTENT_METHODS],
                "retryPolicy": {
                    "maxAttempts": 3,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 3,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)

CHANNEL_OPTIONS = [
    ("grpc.enable_retries", 1),
    ("grpc.service_config", SERVICE_CONFIG),
    # Come back within about a second of jobstore returning, instead of gRPC's default of up to 2 min.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
]

ClaimReply = pb.ClaimJobResponse


class JobstoreClient:
    """Thin async wrapper: one channel, one stub, a deadline on every unary call."""

    def __init__(self, address: str, token: str | None, deadline: float) -> None:
        self._address = address
        self._channel: grpc.aio.Channel | None = None
        self._stub: pb_grpc.JobStoreServiceAsyncStub | None = None
        self._metadata: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()
        self.deadline = deadline

    @property
    def channel(self) -> grpc.aio.Channel:
        """Created on first use: a grpc.aio channel belongs to the event loop it was made in."""
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self._address, options=CHANNEL_OPTIONS)
        return self._channel

    @property
    def stub(self) -> pb_grpc.JobStoreServiceAsyncStub:
        if self._stub is None:
            self._stub = pb_grpc.JobStoreServiceStub(self.channel)
        return self._stub

    def _opts(self) -> dict[str, Any]:
        return {"timeout": self.deadline, "metadata": self._metadata}

    async def create(self, request: pb.CreateJobRequest) -> pb.CreateJobResponse:
        return await self.stub.CreateJob(request, **self._opts())

    async def get(self, job_id: str, include_history: bool = False) -> pb.GetJobResponse:
        return await self.stub.GetJob(
            pb.GetJobRequest(job_id=job_id, include_history=include_history), **self._opts()
        )

    async def list_jobs(self, request: pb.ListJobsRequest) -> pb.ListJobsResponse:
        return await self.stub.ListJobs(request, **self._opts())

    async def delete(self, job_id: str) -> pb.DeleteJobResponse:
        return await self.stub.DeleteJob(pb.DeleteJobRequest(job_id=job_id), **self._opts())

    async def control(self, job_id: str, action: pb.ControlAction, reason: str = "") -> pb.ControlJobResponse:
        request = pb.ControlJobRequest(job_id=job_id, action=action, reason=reason)
        return await self.stub.ControlJob(request, **self._opts())

    async def claim(self, job_id: str, worker_id: str) -> pb.ClaimJobResponse:
        return await self.stub.ClaimJob(
            pb.ClaimJobRequest(job_id=job_id, worker_id=worker_id), **self._opts()
        )

    async def report_progress(self, updates: list[pb.ProgressUpdate]) -> pb.ReportProgressResponse:
        return await self.stub.ReportProgress(pb.ReportProgressRequest(updates=updates), **self._opts())

    async def complete(self, request: pb.CompleteJobRequest) -> pb.FinishJobResponse:
        return await self.stub.CompleteJob(request, **self._opts())

    async def fail(self, request: pb.FailJobRequest) -> pb.FinishJobResponse:
        return await self.stub.FailJob(request, **self._opts())

    async def report_collection(self, request: pb.ReportCollectionRequest) -> pb.ReportCollectionResponse:
        return await self.stub.ReportCollection(request, **self._opts())

    async def list_archive(self, request: pb.ListArchiveRequest) -> pb.ListArchiveResponse:
        return await self.stub.ListArchive(request, **self._opts())

    async def delete_archive_entry(self, entry_id: str) -> pb.DeleteArchiveEntryResponse:
        return await self.stub.DeleteArchiveEntry(pb.DeleteArchiveEntryRequest(id=entry_id), **self._opts())

    async def stats(self, days: int) -> pb.GetStatsResponse:
        return await self.stub.GetStats(pb.GetStatsRequest(days=days), **self._opts())

    async def call(self, method: str, request: Any) -> Any:
        """Any unary RPC by name, with the deadline and credentials every call carries."""
        return await getattr(self.stub, method)(request, **self._opts())

    def watch(self) -> grpc.aio.UnaryStreamCall[pb.WatchJobsRequest, pb.JobChange]:
        """The change stream; no deadline, it lives until cancelled or broken."""
        return self.stub.WatchJobs(pb.WatchJobsRequest(), metadata=self._metadata)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = self._stub = None
