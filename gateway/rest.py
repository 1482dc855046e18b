"""REST handlers: validate, call jobstore, shape the reply. Errors leave through gateway.errors."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from gateway import views
from gateway.errors import ApiError
from gateway.files import file_response, resolve_inside, thumbnail_response
from gateway.jobstore_client import JobstoreClient
from gateway.paging import fetch_page, page_query
from gateway.partials import remove_cancelled_entries_partials, remove_partials, sweep_partials
from gateway.zipfiles import stream_collection_zip
from haul.contract import from_proto, proto_enums
from haul.contract.enums import ControlAction, JobStatus
from haul.contract.proto_enums import to_proto
from haul.contract.rest import Accepted, Deleted, DownloadRequest, FileInfo, JobPage
from haul.contract.urls import UrlRefused, check_url
from haul.jobstore.v1 import jobstore_pb2 as pb

JOBSTORE = web.AppKey("jobstore", JobstoreClient)
DATA_DIR = web.AppKey("data_dir", Path)
TMP_DIR = web.AppKey("tmp_dir", Path)
SWEEP = web.AppKey("partials_sweep", asyncio.Task[list[str]])

ACTIONS = {action.value: to_proto(action) for action in ControlAction}
IDEMPOTENCY_KEY_MAX = 200


def job_id_from(request: web.Request) -> str:
    return canonical_uuid(request.match_info["job_id"], "invalid_job_id", "the job id")


def canonical_uuid(raw: str, code: str, what: str) -> str:
    try:
        parsed = uuid.UUID(raw)
    except ValueError:
        raise ApiError(400, code, f"{what} is not a UUID") from None
    if str(parsed) != raw.lower():
        raise ApiError(400, code, f"{what} is not a canonical UUID")
    return str(parsed)


async def read_json(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    try:
        return await request.json()
    except (ValueError, RecursionError, LookupError):
        # ValueError covers bad JSON, bad UTF-8 and over-long integers; RecursionError, absurd
        # nesting; LookupError, an unknown charset in Content-Type.
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None


def idempotency_key(request: web.Request) -> str:
    """The caller's Idempotency-Key, or a fresh one, so a retried CreateJob can never duplicate."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return f"gw-{uuid.uuid4()}"
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise ApiError(
            400,
            "invalid_idempotency_key",
            f"Idempotency-Key must be 1-{IDEMPOTENCY_KEY_MAX} printable characters",
        )
    return f"client-{key}"


async def create_download(request: web.Request) -> web.Response:
    try:
        body = DownloadRequest.model_validate(await read_json(request))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ApiError(422, "invalid_request", f"{where}: {first['msg']}") from None
    try:
        check_url(body.url)
    except UrlRefused as exc:
        raise ApiError(422, "url_refused", str(exc)) from None
    created = await request.app[JOBSTORE].create(
        pb.CreateJobRequest(
            url=body.url,
            type=to_proto(body.type),
            options=from_proto.options_message(body.options),
            idempotency_key=idempotency_key(request),
        )
    )
    headers = {"Location": f"/downloads/{created.job.id}"}
    if not created.created:
        headers["Idempotent-Replayed"] = "true"
    accepted = Accepted.of(
        job_id=created.job.id, status=proto_enums.from_proto(JobStatus, created.job.status)
    )
    return web.json_response(accepted.wire(), status=202, headers=headers)


async def list_downloads(request: web.Request) -> web.Response:
    """Top-level jobs, newest first; with `?parent={id}`, that collection's children in entry order."""
    statuses: list[Any] = []
    for name in filter(None, request.query.get("status", "").split(",")):
        if name not in views.STATUS_BY_NAME:
            raise ApiError(400, "invalid_status", f"unknown status {name[:40]!r}")
        statuses.append(views.STATUS_BY_NAME[name])
    page_of = page_query(request)
    parent = request.query.get("parent", "")
    if parent:
        parent = canonical_uuid(parent, "invalid_parent", "parent")
    # Status, limit and parent are checked above, so the cursor is the only thing jobstore can
    # refuse (an unknown parent is NOT_FOUND: 404).
    page = await fetch_page(
        request.app[JOBSTORE].list_jobs(
            pb.ListJobsRequest(
                page_size=page_of.limit, page_token=page_of.cursor, statuses=statuses, parent_id=parent
            )
        )
    )
    jobs = JobPage.of(items=[from_proto.job(j) for j in page.jobs], next_cursor=page.next_page_token or None)
    return web.json_response(jobs.wire())


async def get_download(request: web.Request) -> web.Response:
    reply = await request.app[JOBSTORE].get(job_id_from(request), include_history=True)
    return web.json_response(from_proto.job_detail(reply).wire())


async def control_download(request: web.Request) -> web.Response:
    action = request.match_info["action"]
    if action not in ACTIONS:
        raise ApiError(404, "not_found", "no such action")
    job_id = job_id_from(request)
    reply = await request.app[JOBSTORE].control(job_id, ACTIONS[action])
    if reply.job.status == pb.JOB_STATUS_CANCELLED:
        # A paused or queued job has no worker to remove its partials; a running one's worker
        # removes them too, once its tools have stopped.
        await remove_partials(request.app[TMP_DIR], job_id)
    if action == "cancel" and reply.job.HasField("collection"):
        # The cancel reached the collection's entries: a paused one has no worker either.
        await remove_cancelled_entries_partials(request.app[TMP_DIR], request.app[JOBSTORE], job_id)
    return web.json_response(views.job_json(reply.job))


async def delete_download(request: web.Request) -> web.Response:
    job_id = job_id_from(request)
    reply = await request.app[JOBSTORE].delete(job_id)
    # A collection's children go with it: jobstore names them, the gateway removes their files.
    for removed in (job_id, *reply.removed_job_ids):
        await asyncio.to_thread(shutil.rmtree, request.app[DATA_DIR] / removed, True)
        await remove_partials(request.app[TMP_DIR], removed)
    deleted = Deleted.of(
        job_id=job_id, deleted=True, status=proto_enums.from_proto(JobStatus, reply.job.status)
    )
    return web.json_response(deleted.wire())


async def _completed_job(request: web.Request) -> pb.Job:
    return _completed((await request.app[JOBSTORE].get(job_id_from(request))).job)


def _completed(job: pb.Job) -> pb.Job:
    if job.status != pb.JOB_STATUS_COMPLETED:
        raise ApiError(
            409, "not_completed", f"the job is {views.STATUS_NAMES.get(job.status)}, not completed"
        )
    return job


async def file_metadata(request: web.Request) -> web.Response:
    job = await _completed_job(request)
    path = resolve_inside(request.app[DATA_DIR], job.id, job.filename)
    info = FileInfo.of(
        job_id=job.id,
        filename=job.filename,
        size=path.stat().st_size,
        sha256=job.sha256,
        download_url=f"/files/{job.id}/download",
    )
    return web.json_response(info.wire())


async def file_download(request: web.Request) -> web.StreamResponse:
    """The job's file; for a collection, one ZIP of its completed entries' files (gateway.zipfiles)."""
    job = (await request.app[JOBSTORE].get(job_id_from(request))).job
    if job.HasField("collection"):
        return await stream_collection_zip(request, request.app[JOBSTORE], request.app[DATA_DIR], job)
    _completed(job)
    return file_response(resolve_inside(request.app[DATA_DIR], job.id, job.filename), job.filename)


async def file_thumbnail(request: web.Request) -> web.FileResponse:
    """The copy of the media's thumbnail the worker saved; 404 when the job has none."""
    job = (await request.app[JOBSTORE].get(job_id_from(request))).job
    return thumbnail_response(request.app[DATA_DIR], job.id, job.meta.thumbnail)


async def _sweep_on_start(app: web.Application) -> None:
    """In the background: a gateway starts even while jobstore is still coming up."""
    if TMP_DIR in app:
        app[SWEEP] = asyncio.create_task(sweep_partials(app[TMP_DIR], app[JOBSTORE]), name="partials-sweep")


def add_routes(app: web.Application) -> None:
    app.on_startup.append(_sweep_on_start)
    app.router.add_post("/downloads", create_download)
    app.router.add_get("/downloads", list_downloads)
    app.router.add_get("/downloads/{job_id}", get_download)
    app.router.add_post("/downloads/{job_id}/{action}", control_download)
    app.router.add_delete("/downloads/{job_id}", delete_download)
    app.router.add_get("/files/{job_id}", file_metadata)
    app.router.add_get("/files/{job_id}/download", file_download)
    app.router.add_get("/files/{job_id}/thumbnail", file_thumbnail)
