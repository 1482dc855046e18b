"""The REST API's OpenAPI 3.0.3 document (served, with a readable page, by `gateway.apidocs`).

The paths are written here; the components are in `gateway.openapi_components`, their schemas
generated from the contract's models (`haul.contract`), so the web UI's types are generated from
this document too (`python -m gateway.openapi_export`). `tests/integration/test_gateway_openapi.py`
checks it against the routes and runs the live API against it. The page is rendered from the
document on the server: no script, nothing fetched.
"""

from __future__ import annotations

from typing import Any

from gateway import openapi_subscriptions
from gateway.openapi_builders import error, header, ok, op, ref, text
from gateway.openapi_components import PARAMETERS, RESPONSES, SCHEMAS
from haul.contract.thumbnails import CONTENT_TYPES

JOB = ("JobId",)
INVALID_JOB_ID = ref("InvalidJobId", "responses")
JOB_NOT_FOUND = ref("JobNotFound", "responses")
FILE_NOT_FOUND = error("No such job, or its file is gone.", "not_found", "file_not_found")
NOT_COMPLETED = error("The job is not completed yet.", "not_completed")
FILE_HEADERS = {
    "ETag": header("The file's entity tag, for If-None-Match and If-Range.", required=True),
    "Accept-Ranges": header("Always `bytes`.", {"type": "string", "enum": ["bytes"]}),
    "Content-Disposition": header("`attachment`, with an ASCII fallback name and the UTF-8 name."),
}
BINARY = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
IMAGES = {
    media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in CONTENT_TYPES.values()
}


def probe(operation_id: str, summary: str, responses: dict[str, Any]) -> dict[str, Any]:
    """An open operation of the service itself: no credentials, no jobstore call."""
    return op(operation_id, "service", summary, responses, secured=False, jobstore=False)


PATHS: dict[str, dict[str, Any]] = {
    "/downloads": {
        "post": op(
            "createDownload",
            "downloads",
            "Queue a download",
            {
                "202": ok(
                    "Queued; for a replayed Idempotency-Key, the job the first request created.",
                    ref("Accepted"),
                    {
                        "Location": header("The job's URL.", required=True),
                        "Idempotent-Replayed": header(
                            "`true` when the Idempotency-Key named an earlier request.",
                            {"type": "string", "enum": ["true"]},
                        ),
                    },
                ),
                "400": error(
                    "The body is not JSON, or the Idempotency-Key is malformed.",
                    "invalid_json",
                    "invalid_idempotency_key",
                ),
                "413": error("The body is larger than the server accepts.", "body_too_large"),
                "415": error("The body is not sent as application/json.", "unsupported_media_type"),
                "422": error(
                    "The body breaks the schema, the URL breaks the URL policy, or the "
                    "Idempotency-Key was already used for a different request.",
                    "invalid_request",
                    "url_refused",
                    "idempotency_key_reused",
                ),
            },
            description="A retried request with the same Idempotency-Key and body returns the job "
            "it created instead of creating another.",
            parameters=("IdempotencyKey",),
            body=ref("DownloadRequest"),
        ),
        "get": op(
            "listDownloads",
            "downloads",
            "List top-level downloads, newest first, or a collection's children in entry order",
            {
                "200": ok("One page of jobs.", ref("JobPage")),
                "400": error(
                    "A query parameter is invalid.",
                    "invalid_status",
                    "invalid_limit",
                    "invalid_cursor",
                    "invalid_parent",
                ),
                "404": JOB_NOT_FOUND,
            },
            parameters=("Status", "Limit", "Cursor", "Parent"),
        ),
    },
    "/downloads/{jobId}": {
        "get": op(
            "getDownload",
            "downloads",
            "Read one download, with its status history",
            {"200": ok("The job.", ref("JobDetail")), "400": INVALID_JOB_ID, "404": JOB_NOT_FOUND},
            parameters=JOB,
        ),
        "delete": op(
            "deleteDownload",
            "downloads",
            "Delete a download and its file",
            {"200": ok("The job is gone.", ref("Deleted")), "400": INVALID_JOB_ID, "404": JOB_NOT_FOUND},
            description="Works in any status; the worker of a running job is told to stop.",
            parameters=JOB,
        ),
    },
    "/downloads/{jobId}/{action}": {
        "post": op(
            "controlDownload",
            "downloads",
            "Cancel, pause, resume or retry a download",
            {
                "200": ok("The job after the action.", ref("Job")),
                "400": INVALID_JOB_ID,
                "404": error("No such job, or no such action.", "not_found"),
                "409": error("The job's status does not allow this action.", "conflict"),
            },
            description="`cancel`: queued, running or paused jobs. `pause`: queued or running. "
            "`resume`: paused. `retry`: failed or cancelled.",
            parameters=(*JOB, "Action"),
        ),
    },
    "/files/{jobId}": {
        "get": op(
            "getFile",
            "files",
            "Read a finished file's metadata",
            {
                "200": ok("The file.", ref("FileInfo")),
                "400": INVALID_JOB_ID,
                "404": FILE_NOT_FOUND,
                "409": NOT_COMPLETED,
            },
            parameters=JOB,
        ),
    },
    "/files/{jobId}/download": {
        "get": op(
            "downloadFile",
            "files",
            "Fetch a finished file's bytes, or a collection's files as one ZIP",
            {
                "200": {
                    "description": "The whole file; for a collection, a ZIP of its completed entries' files.",
                    "headers": FILE_HEADERS,
                    "content": BINARY,
                },
                "206": {
                    "description": "The requested byte range.",
                    "headers": {
                        **FILE_HEADERS,
                        "Content-Range": header("`bytes first-last/size`.", required=True),
                    },
                    "content": BINARY,
                },
                "304": {"description": "If-None-Match matched the file's ETag; no body."},
                "400": INVALID_JOB_ID,
                "404": error(
                    "No such job, or its file is gone; for a collection, no entry has a file yet.",
                    "not_found",
                    "file_not_found",
                    "no_files",
                ),
                "409": NOT_COMPLETED,
                "416": {
                    "description": "The Range is malformed or starts past the end; no body.",
                    "headers": {"Content-Range": header("`bytes */size`.", required=True)},
                },
            },
            description="The content type is guessed from the file name. On a collection (a job with "
            "`collection`), whatever its status: one `application/zip` streamed as it is made, with "
            "no ETag or Range, holding its completed entries' files in entry order, each named "
            "`0001 - <file name>` by its entry index, STORED and ZIP64; a file missing on disk is left out.",
            parameters=(*JOB, "Range", "IfNoneMatch"),
        ),
    },
    "/files/{jobId}/thumbnail": {
        "get": op(
            "getThumbnail",
            "files",
            "Fetch the copy of the media's thumbnail",
            {
                "200": {
                    "description": "The image: JPEG, PNG, WebP or GIF, never SVG.",
                    "headers": {
                        "ETag": header("The image's entity tag, for If-None-Match.", required=True),
                        "Cache-Control": header("`private, max-age=3600`.", required=True),
                        "X-Content-Type-Options": header("Always `nosniff`.", required=True),
                    },
                    "content": IMAGES,
                },
                "304": {"description": "If-None-Match matched the image's ETag; no body."},
                "400": INVALID_JOB_ID,
                "404": error("No such job, or it has no thumbnail.", "not_found", "no_thumbnail"),
            },
            description="The worker fetched the site's thumbnail through its egress guard and kept a "
            "copy beside the file; `meta.thumbnail` links here when it did. The browser never loads "
            "an address the site chose.",
            parameters=(*JOB, "IfNoneMatch"),
        ),
    },
    "/stats": {
        "get": op(
            "getStats",
            "stats",
            "Daily figures of finished downloads",
            {
                "200": ok("The window's days and totals.", ref("Stats")),
                "400": error("`days` is not a whole number in range.", "invalid_days"),
            },
            description="Jobs by outcome, bytes delivered, durations and retries per UTC day, from "
            "jobstore's daily rollup; today's figures are brought up to date before answering.",
            parameters=("Days",),
        ),
    },
    "/archive": {
        "get": op(
            "listArchive",
            "archive",
            "List the download archive, newest first",
            {
                "200": ok("One page of the archive.", ref("ArchivePage")),
                "400": error("A query parameter is invalid.", "invalid_limit", "invalid_cursor"),
            },
            description="Every completed download records its media's identity here. A collection "
            "or subscription skips the media the archive holds (counting them as `skipped`) unless its "
            "options say `redownload`; a URL submitted on its own is always downloaded.",
            parameters=("EntryLimit", "Cursor"),
        ),
    },
    "/archive/{entryId}": {
        "delete": op(
            "deleteArchiveEntry",
            "archive",
            "Forget one archived media, so that it is downloaded again",
            {
                "204": {"description": "Forgotten; the download's job and files are untouched."},
                "400": error("The id is not a canonical UUID.", "invalid_archive_id"),
                "404": error("No such archive entry.", "not_found"),
            },
            parameters=("ArchiveEntryId",),
        ),
    },
    **openapi_subscriptions.PATHS,
    "/health": {
        "get": probe(
            "health",
            "Readiness, with the state of each dependency",
            {
                "200": ok(
                    "Ready: jobstore, Redis (if configured) and the change feed are ok, and at least one "
                    "worker is connected to this gateway.",
                    ref("HealthReport"),
                ),
                "503": ok(
                    "Live but not ready; `checks` says which dependency is down or that no worker is "
                    "connected.",
                    ref("HealthReport"),
                ),
            },
        ),
    },
    "/health/serving": {
        "get": probe(
            "serving",
            "Serving: the API answers and workers can connect (workers not required)",
            {
                "200": ok(
                    "jobstore, Redis (if configured) and the change feed are ok. Orchestrators use this "
                    "for the gateway's readiness, since workers connect through it.",
                    ref("HealthReport"),
                ),
                "503": ok(
                    "Live but not serving; `checks` says which dependency is down.", ref("HealthReport")
                ),
            },
        ),
    },
    "/health/live": {
        "get": probe("liveness", "Liveness", {"200": ok("The process is up.", ref("Liveness"))})
    },
    "/metrics": {
        "get": op(
            "metrics",
            "service",
            "Prometheus metrics",
            {"200": text("The Prometheus text exposition format.", "text/plain")},
            jobstore=False,
        ),
    },
    "/openapi.json": {
        "get": probe("openapi", "This document", {"200": ok("OpenAPI 3.0.3.", {"type": "object"})})
    },
    "/docs": {"get": probe("docs", "This document, as a page", {"200": text("HTML.", "text/html")})},
}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "haul",
        "version": "1",
        "description": "A self-hosted download service. Every error is JSON: "
        '`{"error": {"code": "...", "message": "..."}}`; the codes each response can carry are listed with it.',
    },
    "tags": [
        {"name": "downloads", "description": "Queue, list and control download jobs."},
        {"name": "files", "description": "Finished files."},
        {"name": "stats", "description": "Daily figures of finished downloads."},
        {"name": "archive", "description": "Media already downloaded, which collections skip."},
        openapi_subscriptions.TAG,
        {"name": "service", "description": "Probes, metrics and this description."},
    ],
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "parameters": PARAMETERS,
        "responses": RESPONSES,
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "The server's API token; required only when the server is configured with one.",
            }
        },
    },
    # No credentials (a server without an API token), or the bearer token.
    "security": [{}, {"bearerAuth": []}],
}
