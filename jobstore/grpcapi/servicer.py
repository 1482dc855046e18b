"""The JobStoreService servicer: convert the request, call one use case, convert the reply."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any, TypeAlias

import grpc

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from haul.runtime.timeline import mark
from jobstore import archive, collection_service, service, stats_service
from jobstore.adapters.changefeed import ChangeHub
from jobstore.domain import validation
from jobstore.domain.archive import checked_archive_id, entry_id
from jobstore.domain.errors import InvalidInput
from jobstore.domain.model import ControlAction, JobStatus
from jobstore.domain.values import JobType
from jobstore.group_commit import CreateBatcher
from jobstore.grpcapi import convert
from jobstore.grpcapi.errors import streaming, unary
from jobstore.grpcapi.subscription_rpcs import SubscriptionRpcs
from jobstore.metrics import JobstoreMetrics
from jobstore.outcomes import Outcome
from jobstore.ports import UnitOfWork
from jobstore.subscriptions import CheckPolicy

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


class JobStoreServicer(SubscriptionRpcs, pb_grpc.JobStoreServiceServicer):
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        hub: ChangeHub,
        default_max_attempts: int,
        metrics: JobstoreMetrics,
        *,
        collection_max_items: int = 500,
        subscription_min_interval: int = 900,
    ) -> None:
        self._uow = uow_factory
        # Concurrent creates share a transaction (see jobstore.group_commit).
        self._creates = CreateBatcher(uow_factory)
        self._collection_max_items = collection_max_items
        self._subscription_min_interval = subscription_min_interval
        self._check_policy = CheckPolicy(default_max_attempts, collection_max_items)
        self._hub = hub
        self._default_max_attempts = default_max_attempts
        self._metrics = metrics

    @unary
    async def CreateJob(self, request: pb.CreateJobRequest, context: Context) -> pb.CreateJobResponse:
        options = convert.options_from_pb(request.options)
        job_type = convert.from_pb(JobType, request.type, "type", optional=True) or JobType.AUTO
        if job_type is not JobType.FILE:
            # The cap is settled now, so the worker that may find a collection knows it.
            options = replace(options, max_items=options.max_items or self._collection_max_items)
        command = service.CreateJob(
            url=validation.url(request.url),
            type=job_type,
            options=options,
            max_attempts=validation.count("max_attempts", request.max_attempts, validation.MAX_ATTEMPTS)
            or self._default_max_attempts,
            idempotency_key=validation.text(
                "idempotency_key", request.idempotency_key, validation.MAX_SHORT_TEXT
            )
            or None,
        )
        job, created = await self._creates.create(command)
        return pb.CreateJobResponse(job=convert.job_to_pb(job), created=created)

    @unary
    async def GetJob(self, request: pb.GetJobRequest, context: Context) -> pb.GetJobResponse:
        job, history = await service.get_job(
            self._uow(), validation.job_id(request.job_id), request.include_history
        )
        return pb.GetJobResponse(
            job=convert.job_to_pb(job), history=[convert.event_to_pb(e) for e in history]
        )

    @unary
    async def ListJobs(self, request: pb.ListJobsRequest, context: Context) -> pb.ListJobsResponse:
        statuses = [convert.required(JobStatus, s, "statuses") for s in request.statuses]
        size = validation.count("page_size", request.page_size, validation.MAX_PAGE_SIZE)
        token = validation.text("page_token", request.page_token, validation.MAX_SHORT_TEXT)
        parent_id = validation.job_id(request.parent_id) if request.parent_id else None
        page = await service.list_jobs(
            self._uow(), statuses, size or validation.DEFAULT_PAGE_SIZE, token, parent_id
        )
        return pb.ListJobsResponse(
            jobs=[convert.job_to_pb(j) for j in page.jobs], next_page_token=page.next_page_token
        )

    @unary
    async def DeleteJob(self, request: pb.DeleteJobRequest, context: Context) -> pb.DeleteJobResponse:
        deletion = await service.delete_job(self._uow(), validation.job_id(request.job_id))
        return pb.DeleteJobResponse(
            job=convert.job_to_pb(deletion.job), removed_job_ids=[str(j.id) for j in deletion.removed]
        )

    @unary
    async def ControlJob(self, request: pb.ControlJobRequest, context: Context) -> pb.ControlJobResponse:
        job = await service.control_job(
            self._uow(),
            validation.job_id(request.job_id),
            convert.required(ControlAction, request.action, "action"),
            validation.text("reason", request.reason, validation.MAX_REASON),
        )
        return pb.ControlJobResponse(job=convert.job_to_pb(job))

    @unary
    async def ClaimJob(self, request: pb.ClaimJobRequest, context: Context) -> pb.ClaimJobResponse:
        worker_id = validation.text("worker_id", request.worker_id, validation.MAX_SHORT_TEXT)
        if not worker_id:
            raise InvalidInput("worker_id is required")
        outcome = await service.claim_job(self._uow(), validation.job_id(request.job_id), worker_id)
        return pb.ClaimJobResponse(
            accepted=outcome.accepted,
            refusal=convert.refusal_to_pb(outcome.refusal),
            attempt=outcome.job.attempt if outcome.job and outcome.accepted else 0,
            job=convert.job_to_pb(outcome.job) if outcome.job else None,
        )

    @unary
    async def ReportProgress(
        self, request: pb.ReportProgressRequest, context: Context
    ) -> pb.ReportProgressResponse:
        if len(request.updates) > validation.MAX_BATCH:
            raise InvalidInput(f"at most {validation.MAX_BATCH} updates per call")
        reports = [convert.progress_from_pb(update) for update in request.updates]
        self._metrics.progress_batch.observe(len(reports))
        outcomes = await service.report_progress(self._uow(), reports)
        return pb.ReportProgressResponse(
            results=[
                pb.ProgressResult(
                    job_id=str(o.job_id),
                    seq=o.seq,
                    accepted=o.refusal is None,
                    refusal=convert.refusal_to_pb(o.refusal),
                )
                for o in outcomes
            ]
        )

    @unary
    async def CompleteJob(self, request: pb.CompleteJobRequest, context: Context) -> pb.FinishJobResponse:
        outcome = await service.complete_job(
            self._uow(),
            validation.job_id(request.job_id),
            request.attempt,
            convert.file_result_from_pb(request),
            archive_id=checked_archive_id(request.archive_id),
        )
        mark("report", job_id=request.job_id)
        return _finish_reply(outcome)

    @unary
    async def FailJob(self, request: pb.FailJobRequest, context: Context) -> pb.FinishJobResponse:
        outcome = await service.fail_job(
            self._uow(),
            validation.job_id(request.job_id),
            request.attempt,
            validation.error_code(request.error_code),
            validation.error_message(request.error_message),
            request.retryable,
        )
        mark("report", job_id=request.job_id)
        return _finish_reply(outcome)

    @unary
    async def ReportCollection(
        self, request: pb.ReportCollectionRequest, context: Context
    ) -> pb.ReportCollectionResponse:
        outcome = await collection_service.report_collection(
            self._uow(),
            validation.job_id(request.job_id),
            convert.collection_report_from_pb(request),
            self._collection_max_items,
        )
        return pb.ReportCollectionResponse(
            accepted=outcome.accepted,
            refusal=convert.refusal_to_pb(outcome.refusal),
            job=convert.job_to_pb(outcome.job) if outcome.job else None,
            created=outcome.created,
        )

    @unary
    async def GetStats(self, request: pb.GetStatsRequest, context: Context) -> pb.GetStatsResponse:
        days = validation.count("days", request.days, validation.MAX_STATS_DAYS)
        report = await stats_service.get_stats(self._uow(), days or validation.DEFAULT_STATS_DAYS)
        return pb.GetStatsResponse(
            days=[convert.daily_stats_to_pb(d) for d in report.days],
            totals=convert.figures_to_pb(report.totals),
        )

    @unary
    async def ListArchive(self, request: pb.ListArchiveRequest, context: Context) -> pb.ListArchiveResponse:
        size = validation.count("page_size", request.page_size, validation.MAX_PAGE_SIZE)
        token = validation.text("page_token", request.page_token, validation.MAX_SHORT_TEXT)
        page = await archive.list_archive(self._uow(), size or validation.DEFAULT_PAGE_SIZE, token)
        return pb.ListArchiveResponse(
            entries=[convert.archive_entry_to_pb(e) for e in page.entries],
            next_page_token=page.next_page_token,
        )

    @unary
    async def DeleteArchiveEntry(
        self, request: pb.DeleteArchiveEntryRequest, context: Context
    ) -> pb.DeleteArchiveEntryResponse:
        entry = await archive.delete_archive_entry(self._uow(), entry_id(request.id))
        return pb.DeleteArchiveEntryResponse(entry=convert.archive_entry_to_pb(entry))

    @streaming
    async def WatchJobs(self, request: pb.WatchJobsRequest, context: Context) -> AsyncIterator[pb.JobChange]:
        subscription = self._hub.subscribe()
        try:
            # Headers go out once the subscription exists, so a client that waits for them
            # knows no later change can be missed.
            await context.send_initial_metadata(())
            async for change in subscription:
                yield convert.change_to_pb(change)
        finally:
            subscription.close()


def _finish_reply(outcome: Outcome) -> pb.FinishJobResponse:
    return pb.FinishJobResponse(
        accepted=outcome.accepted,
        refusal=convert.refusal_to_pb(outcome.refusal),
        job=convert.job_to_pb(outcome.job) if outcome.job else None,
    )
