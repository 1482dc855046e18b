"""The `components` of the OpenAPI document: schemas, parameters and shared responses.

Built with `gateway.openapi_builders`. Enum values come from `gateway.views` and bounds from
`haul.contract.limits` and `gateway.rest`, so the document cannot drift from what the handlers
accept and return.
"""

from __future__ import annotations

from typing import Any

from gateway import views
from gateway.openapi_builders import (
    Schema,
    enum,
    error,
    header,
    integer,
    nullable,
    number,
    obj,
    parameter,
    ref,
    string,
    timestamp,
)
from gateway.rest import ACTIONS, IDEMPOTENCY_KEY_MAX
from haul.contract import limits
from haul.contract.urls import MAX_URL_LENGTH

STATUSES = list(views.STATUS_NAMES.values())
STAGES = list(views.STAGE_NAMES.values())
TYPES = list(views.TYPE_NAMES.values())
AUDIO_FORMATS = list(views.AUDIO_NAMES.values())
VIDEO_CONTAINERS = list(views.CONTAINER_NAMES.values())

JOB_ID = string("The job's UUID, in canonical lower-case form.", format="uuid")
STATS_FIGURES: dict[str, Schema] = {
    "completed": integer("Jobs that completed."),
    "failed": integer("Jobs that failed for good (not those queued again for another attempt)."),
    "cancelled": integer("Jobs that were cancelled."),
    "bytesDownloaded": integer(
        "Sum of the completed jobs' file sizes, in bytes; partial bytes of failed or cancelled jobs are not counted."
    ),
    "medianDurationSeconds": nullable(
        number(
            "Median time of the completed jobs' successful attempt (claim to completion), in seconds; "
            "null when none completed."
        )
    ),
    "p95DurationSeconds": nullable(number("95th percentile of those durations; null when none completed.")),
    "retries": integer(
        "Times a job was queued again after an attempt failed or stalled, or was retried by a person."
    ),
}
SHA256 = string("Hex SHA-256 of the file.", pattern=f"^{limits.SHA256_PATTERN}$")
STATUS = enum(STATUSES, "Where the job is in its life.")

SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        {
            "error": obj(
                {
                    "code": string("A stable, machine-readable code, e.g. `url_refused`."),
                    "message": string("What went wrong, in words fit for a person."),
                }
            )
        },
        description="Every error has this shape; the status code and `error.code` say what it is.",
        example={"error": {"code": "not_found", "message": "no such job"}},
    ),
    "DownloadOptions": {
        "type": "object",
        "additionalProperties": False,
        "description": "The whitelisted options; any other key is refused, never passed to a tool.",
        "properties": {
            "maxHeight": nullable(
                integer(
                    "For video: the tallest frame height wanted, in pixels; null or 0 means the best.",
                    maximum=limits.MAX_HEIGHT,
                )
            ),
            "audioFormat": nullable(enum(AUDIO_FORMATS, "For audio: the format to extract to.")),
            "videoContainer": nullable(enum(VIDEO_CONTAINERS, "For video: the container to merge into.")),
        },
    },
    "DownloadRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["url"],
        "properties": {
            "url": string(
                "The http(s) URL to download: a host, no credentials, no whitespace or control "
                "characters, not starting with '-'. Anything else is refused with `url_refused`.",
                format="uri",
                minLength=1,
                maxLength=MAX_URL_LENGTH,
            ),
            "type": enum(TYPES, "Which engine to use; `auto` lets the worker probe the URL.", default="auto"),
            "options": ref("DownloadOptions"),
        },
        "example": {"url": "https://media.example/clip.mp4", "type": "video", "options": {"maxHeight": 720}},
    },
    "Accepted": obj({"jobId": JOB_ID, "status": STATUS}, description="A job was created (or replayed)."),
    "JobMeta": obj(
        {
            "title": nullable(string("The title, as the site gives it.")),
            "duration": nullable(number("Length of the media in seconds.")),
            "extractor": nullable(string('The yt-dlp extractor, or "direct" for plain files.')),
            "thumbnail": nullable(string("URL of a thumbnail image.")),
        },
        description="What the worker learned about the media; null until it is known.",
    ),
    "JobLinks": obj(
        {
            "self": string("This job.", format="uri-reference"),
            "file": nullable(string("The file's metadata, once completed.", format="uri-reference")),
            "download": nullable(string("The file's bytes, once completed.", format="uri-reference")),
        }
    ),
    "Job": obj(
        {
            "id": JOB_ID,
            "url": string("The URL being downloaded."),
            "type": enum(TYPES, "What kind of download this is."),
            "options": ref("DownloadOptions"),
            "status": STATUS,
            "stage": enum(STAGES, "The step a running job is on, for display."),
            "progress": number("Percent done.", maximum=100),
            "downloadedBytes": integer("Bytes received so far in this attempt."),
            "totalBytes": nullable(integer("Bytes expected; null when unknown.")),
            "speed": nullable(number("Bytes per second; null when unknown.")),
            "eta": nullable(number("Seconds left; null when unknown.")),
            "filename": nullable(string("The final file's name; null until completed.")),
            "size": nullable(integer("The final file's size in bytes; null unless completed.")),
            "sha256": nullable(SHA256),
            "errorCode": nullable(string("Why the last attempt failed, e.g. `STALLED`.")),
            "errorMessage": nullable(string("The last failure, in words.")),
            "meta": ref("JobMeta"),
            "attempt": integer("How many times the job has been claimed."),
            "maxAttempts": integer("Claims allowed per window of attempts."),
            "createdAt": timestamp("When the job was created."),
            "updatedAt": timestamp("When the job last changed."),
            "startedAt": nullable(timestamp("When the current attempt started.")),
            "finishedAt": nullable(timestamp("When the job reached a terminal status.")),
            "links": ref("JobLinks"),
        },
        description="A job, as every endpoint that returns one shows it.",
    ),
    "HistoryEvent": obj(
        {
            "at": timestamp("When it happened."),
            "from": nullable(enum(STATUSES, "The status before; null for the creation event.")),
            "to": STATUS,
            "actor": string('Who caused it: "api", "worker:<id>" or "reaper".'),
            "reason": string("Why, in words."),
        }
    ),
    "JobDetail": {
        "description": "A job with its status history, oldest first.",
        "allOf": [ref("Job"), obj({"history": {"type": "array", "items": ref("HistoryEvent")}})],
    },
    "JobPage": obj(
        {
            "items": {"type": "array", "items": ref("Job"), "description": "Newest first."},
            "nextCursor": nullable(string("Pass as `cursor` for the next page; null on the last.")),
        }
    ),
    "Deleted": obj(
        {
            "jobId": JOB_ID,
            "deleted": {"type": "boolean", "enum": [True]},
            "status": enum(STATUSES, "The job's status just before it was deleted."),
        }
    ),
    "FileInfo": obj(
        {
            "jobId": JOB_ID,
            "filename": string("The file's name."),
            "size": integer("The file's size in bytes."),
            "sha256": SHA256,
            "downloadUrl": string("Where to fetch the bytes.", format="uri-reference"),
        }
    ),
    "DailyStats": obj(
        {"day": string("The UTC day.", format="date", example="2026-11-24"), **STATS_FIGURES},
        description="One UTC day: the jobs whose `finishedAt` falls in it, and the retries made in it.",
    ),
    "StatsTotals": obj(
        STATS_FIGURES,
        description="The whole window: counts, bytes and retries add up the days; the percentiles are "
        "over the window's completed jobs still stored (a deleted job stays in its day's figures only).",
    ),
    "Stats": obj(
        {
            "days": {
                "type": "array",
                "items": ref("DailyStats"),
                "description": "One entry per day, oldest first, ending today (UTC); a day without jobs has zeros.",
            },
            "totals": ref("StatsTotals"),
        }
    ),
    "Check": obj({"ok": {"type": "boolean"}, "detail": string("The dependency's state, in words.")}),
    "Aria2Check": obj(
        {
            "ok": nullable({"type": "boolean", "description": "Null when no worker is connected."}),
            "detail": string(),
            "workers": integer("Workers connected to this gateway."),
            "tools": {
                "type": "object",
                "description": "Per tool (ffmpeg, ffprobe, aria2), the distinct reports of the workers: "
                "the binary in use and where it comes from, or what is lost without it.",
                "additionalProperties": {"type": "array", "items": string()},
            },
        }
    ),
    "HealthReport": obj(
        {
            "status": enum(["ready", "degraded"]),
            "live": {"type": "boolean"},
            "ready": {"type": "boolean", "description": "jobstore, Redis and the change feed are all ok."},
            "checks": obj(
                {
                    "jobstore": ref("Check"),
                    "redis": ref("Check"),
                    "changeFeed": ref("Check"),
                    "aria2": ref("Aria2Check"),
                }
            ),
        }
    ),
    "Liveness": obj({"live": {"type": "boolean", "enum": [True]}}),
}


PARAMETERS: dict[str, dict[str, Any]] = {
    "JobId": parameter("jobId", "path", "The job's id.", JOB_ID, required=True),
    "Action": parameter("action", "path", "What to do.", enum(list(ACTIONS)), required=True),
    "IdempotencyKey": parameter(
        "Idempotency-Key",
        "header",
        "Makes a retried request safe: the same key and body return the first job instead of a new "
        f"one. 1-{IDEMPOTENCY_KEY_MAX} printable characters.",
        string(minLength=1, maxLength=IDEMPOTENCY_KEY_MAX),
    ),
    "Status": parameter(
        "status",
        "query",
        "Only jobs in these statuses, comma-separated, e.g. `queued,running`.",
        {"type": "array", "items": enum(STATUSES)},
        style="form",
        explode=False,
    ),
    "Limit": parameter(
        "limit",
        "query",
        "Jobs per page.",
        integer(minimum=1, maximum=limits.MAX_PAGE_SIZE, default=limits.DEFAULT_PAGE_SIZE),
    ),
    "Cursor": parameter(
        "cursor", "query", "The `nextCursor` of the previous page.", string(maxLength=limits.MAX_SHORT_TEXT)
    ),
    "Days": parameter(
        "days",
        "query",
        "How many UTC days, ending today.",
        integer(minimum=1, maximum=limits.MAX_STATS_DAYS, default=limits.DEFAULT_STATS_DAYS),
    ),
    "Range": parameter(
        "Range",
        "header",
        "One byte range, e.g. `bytes=0-1023` or `bytes=-500`.",
        string(pattern=r"^bytes=\d*-\d*$"),
    ),
    "IfNoneMatch": parameter(
        "If-None-Match", "header", "An ETag from an earlier response; a match answers 304.", string()
    ),
}

RESPONSES: dict[str, dict[str, Any]] = {
    "Unauthorized": {
        **error("The server has an API token and the request did not present it.", "unauthorized"),
        "headers": {"WWW-Authenticate": header('`Bearer realm="haul"`.', required=True)},
    },
    "Unavailable": error("jobstore is not reachable; try again in a few seconds.", "jobstore_unavailable"),
    "InvalidJobId": error("The job id is not a canonical UUID.", "invalid_job_id"),
    "JobNotFound": error("No such job.", "not_found"),
}
