"""jobstore's gRPC API (`--grpc ADDR`), answering in the gateway's JSON shape.

jobstore does not serve files and does not delete them: DeleteJob removes the job and its
history, and the files stay in DATA_DIR (the gateway's DELETE removes both). Progress is
followed by reading the job every half second.
"""

from __future__ import annotations

from typing import Any

import grpc

from haul.contract import from_proto, proto_enums
from haul.contract.enums import ControlAction, JobStatus, JobType
from haul.contract.proto_enums import to_proto
from haul.contract.rest import Deleted, DownloadOptions
from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from haulctl.api import Job, JobList, Submission
from haulctl.errors import EXIT_UNREACHABLE, CliError

ERROR_CODES = {
    grpc.StatusCode.NOT_FOUND: "not_found",
    grpc.StatusCode.FAILED_PRECONDITION: "conflict",
    grpc.StatusCode.INVALID_ARGUMENT: "invalid_request",
    grpc.StatusCode.ALREADY_EXISTS: "idempotency_conflict",
    grpc.StatusCode.UNAUTHENTICATED: "unauthorized",
}


def rpc_error(exc: grpc.RpcError, address: str) -> CliError:
    code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = (exc.details() if isinstance(exc, grpc.Call) else None) or code.name
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return CliError(f"cannot reach jobstore at {address}: {details}", "unreachable", EXIT_UNREACHABLE)
    if code is grpc.StatusCode.UNAUTHENTICATED:
        details += " (give it with --service-token or HAUL_SERVICE_TOKEN)"
    return CliError(details, ERROR_CODES.get(code, code.name.lower()))


def options_message(options: dict[str, Any]) -> pb.JobOptions:
    """The command line's options (the REST names) as CreateJob takes them."""
    return from_proto.options_message(DownloadOptions.model_validate(options))


class JobstoreApi:
    def __init__(self, address: str, token: str | None, timeout: float = 30.0) -> None:
        self.address = address
        self._channel = grpc.insecure_channel(address)
        self._stub = pb_grpc.JobStoreServiceStub(self._channel)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._timeout = timeout

    def _call(self, method: Any, request: Any) -> Any:
        try:
            return method(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise rpc_error(exc, self.address) from None

    def submit(self, submission: Submission) -> Job:
        request = pb.CreateJobRequest(
            url=submission.url,
            type=to_proto(JobType(submission.type)),
            options=options_message(submission.options),
            # The gateway's namespace for callers' keys, so REST and gRPC submits agree.
            idempotency_key=f"client-{submission.idempotency_key}" if submission.idempotency_key else "",
        )
        created: pb.CreateJobResponse = self._call(self._stub.CreateJob, request)
        return self.get(created.job.id)

    def get(self, job_id: str) -> Job:
        reply: pb.GetJobResponse = self._call(
            self._stub.GetJob, pb.GetJobRequest(job_id=job_id, include_history=True)
        )
        return from_proto.job_detail(reply).wire()

    def list(self, statuses: list[str], limit: int, cursor: str | None, parent: str | None = None) -> JobList:
        request = pb.ListJobsRequest(
            page_size=limit,
            page_token=cursor or "",
            statuses=[to_proto(JobStatus(s)) for s in statuses],
            parent_id=parent or "",
        )
        page: pb.ListJobsResponse = self._call(self._stub.ListJobs, request)
        return JobList([from_proto.job(job).wire() for job in page.jobs], page.next_page_token or None)

    def control(self, job_id: str, action: str) -> Job:
        request = pb.ControlJobRequest(job_id=job_id, action=to_proto(ControlAction(action)))
        reply: pb.ControlJobResponse = self._call(self._stub.ControlJob, request)
        return from_proto.job(reply.job).wire()

    def delete(self, job_id: str) -> dict[str, Any]:
        reply: pb.DeleteJobResponse = self._call(self._stub.DeleteJob, pb.DeleteJobRequest(job_id=job_id))
        status = proto_enums.from_proto(JobStatus, reply.job.status)
        return Deleted.of(job_id=job_id, deleted=True, status=status).wire()

    def live_watch(self, job_id: str) -> None:
        return None  # jobstore has no socket for a job's updates: it is read every half second

    def close(self) -> None:
        self._channel.close()
