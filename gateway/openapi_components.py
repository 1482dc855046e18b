"""The `components` of the OpenAPI document: schemas, parameters and shared responses.

The schemas are generated from the contract's models (`haul.contract`), never written here:
the REST bodies, and the `/jobs` Socket.IO events, which no path names but which the web UI's
generated types need. Bounds come from `haul.contract.limits` and `gateway.rest`.
"""

from __future__ import annotations

from typing import Any

from gateway import openapi_subscriptions
from gateway.openapi_builders import component_schemas, error, header, integer, parameter, ref, string
from gateway.rest import IDEMPOTENCY_KEY_MAX
from haul.contract import archive, browser, enums, limits, reports, rest, subscriptions

# What clients send is described as validated; what they get, as serialized.
SCHEMAS = component_schemas(
    {
        rest.DownloadRequest: "validation",
        browser.SubscribeRequest: "validation",
        subscriptions.SubscriptionRequest: "validation",
        subscriptions.SubscriptionPatch: "validation",
        **dict.fromkeys(
            (
                reports.Error,
                rest.Accepted,
                rest.Job,
                rest.JobDetail,
                rest.JobPage,
                rest.Deleted,
                rest.FileInfo,
                reports.Stats,
                archive.ArchivePage,
                subscriptions.Subscription,
                subscriptions.SubscriptionPage,
                subscriptions.CheckAccepted,
                reports.HealthReport,
                reports.Liveness,
                enums.ControlAction,
                browser.JobSnapshot,
                browser.ListSnapshot,
                browser.JobProgress,
                browser.JobUpdate,
                browser.JobCompleted,
                browser.JobFailed,
            ),
            "serialization",
        ),
    }
)

PARAMETERS: dict[str, dict[str, Any]] = {
    "JobId": parameter(
        "jobId",
        "path",
        "The job's id.",
        string("The job's UUID, in canonical lower-case form.", format="uuid"),
        required=True,
    ),
    "Action": parameter("action", "path", "What to do.", ref("ControlAction"), required=True),
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
        {"type": "array", "items": ref("JobStatus")},
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
    "Parent": parameter(
        "parent",
        "query",
        "Only this collection's children, in entry order (top-level jobs when absent).",
        string("The collection's UUID, in canonical lower-case form.", format="uuid"),
    ),
    "EntryLimit": parameter(
        "limit",
        "query",
        "Entries per page.",
        integer(minimum=1, maximum=limits.MAX_PAGE_SIZE, default=limits.DEFAULT_PAGE_SIZE),
    ),
    "ArchiveEntryId": parameter(
        "entryId",
        "path",
        "The archive entry's id (`id` in `GET /archive`).",
        string("The entry's UUID, in canonical lower-case form.", format="uuid"),
        required=True,
    ),
    **openapi_subscriptions.PARAMETERS,
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
