"""The REST bodies that are not jobs: errors, daily figures and the service's probes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from haul.contract.shapes import Amount, Count, Shape


class ErrorDetail(Shape):
    code: Annotated[str, Field(description="A stable, machine-readable code, e.g. `url_refused`.")]
    message: Annotated[str, Field(description="What went wrong, in words fit for a person.")]


class Error(Shape):
    """Every error has this shape; the status code and `error.code` say what it is."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"error": {"code": "not_found", "message": "no such job"}}}
    )

    error: ErrorDetail

    @classmethod
    def saying(cls, code: str, message: str) -> Error:
        return cls.of(error=ErrorDetail.of(code=code, message=message))


class StatsFigures(Shape):
    """One span's figures of finished downloads; what each means is jobstore's to say."""

    completed: Annotated[Count, Field(description="Jobs that completed.")]
    failed: Annotated[
        Count, Field(description="Jobs that failed for good (not those queued again for another attempt).")
    ]
    cancelled: Annotated[Count, Field(description="Jobs that were cancelled.")]
    bytes_downloaded: Annotated[
        Count,
        Field(
            description="Sum of the completed jobs' file sizes, in bytes; partial bytes of failed or "
            "cancelled jobs are not counted."
        ),
    ]
    median_duration_seconds: Annotated[
        Amount | None,
        Field(
            description="Median time of the completed jobs' successful attempt (claim to completion), "
            "in seconds; null when none completed."
        ),
    ]
    p95_duration_seconds: Annotated[
        Amount | None, Field(description="95th percentile of those durations; null when none completed.")
    ]
    retries: Annotated[
        Count,
        Field(
            description="Times a job was queued again after an attempt failed or stalled, or was retried by a person."
        ),
    ]


class DailyStats(StatsFigures):
    """One UTC day: the jobs whose `finishedAt` falls in it, and the retries made in it."""

    day: Annotated[
        str, Field(description="The UTC day.", json_schema_extra={"format": "date", "example": "2026-11-24"})
    ]


class Stats(Shape):
    """`GET /stats`: the window's days and totals."""

    days: Annotated[
        list[DailyStats],
        Field(
            description="One entry per day, oldest first, ending today (UTC); a day without jobs has zeros."
        ),
    ]
    totals: Annotated[
        StatsFigures,
        Field(
            description="The whole window: counts, bytes and retries add up the days; the percentiles are "
            "over the window's completed jobs still stored (a deleted job stays in its day's figures only)."
        ),
    ]


class Check(Shape):
    ok: bool
    detail: Annotated[str, Field(description="The dependency's state, in words.")]


class Aria2Check(Shape):
    ok: Annotated[bool | None, Field(description="Null when no worker is connected.")]
    detail: str
    workers: Annotated[Count, Field(description="Workers connected to this gateway.")]
    tools: Annotated[
        dict[str, list[str]],
        Field(
            description="Per tool (ffmpeg, ffprobe, aria2), the distinct reports of the workers: "
            "the binary in use and where it comes from, or what is lost without it."
        ),
    ]


class HealthChecks(Shape):
    jobstore: Check
    redis: Check
    change_feed: Check
    aria2: Aria2Check


class HealthReport(Shape):
    """Readiness, with the state of each dependency."""

    status: Literal["ready", "serving", "degraded"]
    live: bool
    serving: Annotated[
        bool,
        Field(
            description="jobstore, Redis and the change feed are all ok: the API answers and workers "
            "can connect (what `/health/serving` answers 200 for)."
        ),
    ]
    ready: Annotated[
        bool,
        Field(
            description="Serving, and at least one worker is connected to this gateway, so a job can start."
        ),
    ]
    checks: HealthChecks


class Liveness(Shape):
    live: Literal[True]
