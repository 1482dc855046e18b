"""The REST API's subscription bodies: what `POST` and `PATCH /subscriptions` take, the
subscription every endpoint returns, and its conversion from jobstore's message.

`gateway.subscription_routes` validates with these and the OpenAPI document (and from it the
web UI's types) takes its schemas from them.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

from haul.contract import from_proto
from haul.contract.enums import JobType
from haul.contract.events import MAX_COLLECTION_ENTRIES
from haul.contract.proto_enums import from_proto as enum_from_proto
from haul.contract.rest import DownloadOptions, JobOptions, RequestBody
from haul.contract.shapes import Count, JobIdText, Shape, timestamp
from haul.contract.urls import MAX_URL_LENGTH
from haul.jobstore.v1 import jobstore_pb2 as pb

# A year: far above any useful interval. The floor is the server's (HAUL_SUBSCRIPTION_MIN_INTERVAL).
MAX_INTERVAL = 366 * 24 * 3600

Interval = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_INTERVAL,
        description="Seconds between two checks; at least the server's floor (HAUL_SUBSCRIPTION_MIN_INTERVAL, "
        "900 by default), or the request is refused with `interval_too_short`.",
    ),
]
MaxItems = Annotated[
    int,
    Field(
        ge=0,
        le=MAX_COLLECTION_ENTRIES,
        description="The most entries one check takes; 0 means the server default (HAUL_COLLECTION_MAX_ITEMS).",
    ),
]
SubscriptionIdText = Annotated[
    str,
    Field(
        description="The subscription's UUID, in canonical lower-case form.",
        json_schema_extra={"format": "uuid"},
    ),
]


class SubscriptionRequest(RequestBody):
    """`POST /subscriptions`."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"url": "https://media.example/podcast.xml", "type": "audio", "intervalSeconds": 3600}
        }
    )

    url: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_URL_LENGTH,
            description="The channel, playlist or feed to check: the same URL policy as `POST /downloads`.",
            json_schema_extra={"format": "uri"},
        ),
    ]
    type: Annotated[
        JobType, Field(description="What each entry is downloaded as; never `file` (a file has no entries).")
    ] = JobType.AUTO
    options: DownloadOptions = Field(default_factory=DownloadOptions)
    interval_seconds: Interval | None = None
    max_items: MaxItems | None = None


class SubscriptionPatch(RequestBody):
    """`PATCH /subscriptions/{id}`: only the keys given change."""

    interval_seconds: Interval | None = None
    options: DownloadOptions | None = None
    max_items: MaxItems | None = None
    enabled: Annotated[
        bool | None,
        Field(description="false pauses the checks, true resumes them (due at once when overdue)."),
    ] = None


class Subscription(Shape):
    """A subscription: a source checked every interval; each check is a collection job holding the
    entries that no earlier download holds."""

    id: SubscriptionIdText
    url: Annotated[str, Field(description="The source's URL.")]
    title: Annotated[str | None, Field(description="The source's title, once a check listed it.")]
    type: Annotated[JobType, Field(description="What each entry is downloaded as.")]
    options: JobOptions
    max_items: Annotated[Count, Field(description="The most entries one check takes; 0: the server default.")]
    interval_seconds: Annotated[Count, Field(description="Seconds between two checks.")]
    enabled: Annotated[bool, Field(description="False while paused.")]
    last_checked_at: Annotated[str | None, timestamp("When the last check started; null before the first.")]
    next_check_at: Annotated[str | None, timestamp("When the next check is due (none while paused).")]
    last_error: Annotated[
        str | None,
        Field(
            description='Why the last check could not list the source, as "CODE: message" (e.g. '
            "`COLLECTION_UNREADABLE: ...`); null once a later check listed it."
        ),
    ]
    last_job_id: Annotated[
        JobIdText | None, Field(description="The last check's job (a collection); null before the first.")
    ]
    created_at: Annotated[str, timestamp("When the subscription was created.")]


class SubscriptionPage(Shape):
    """One page of subscriptions."""

    items: Annotated[list[Subscription], Field(description="Newest first.")]
    next_cursor: Annotated[
        str | None, Field(description="Pass as `cursor` for the next page; null on the last.")
    ]


class CheckAccepted(Shape):
    """A check was started, or the one still running is named."""

    job_id: JobIdText


def subscription(message: pb.Subscription) -> Subscription:
    fields = from_proto.same_named(Subscription, message)
    fields.update(
        type=enum_from_proto(JobType, message.type) or JobType.AUTO,
        options=JobOptions.of(**from_proto.same_named(JobOptions, message.options)),
        next_check_at=fields["next_check_at"] if message.enabled else None,
    )
    return Subscription.of(**fields)
