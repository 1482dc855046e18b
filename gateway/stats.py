"""`GET /stats?days=N`: daily figures of finished downloads, from jobstore's GetStats.

What each figure means is jobstore's to say (`jobstore.domain.stats`, and the README); this
module only checks the query and renames the fields.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.errors import ApiError
from gateway.rest import JOBSTORE
from haul.contract.limits import DEFAULT_STATS_DAYS, MAX_STATS_DAYS
from haul.jobstore.v1 import jobstore_pb2 as pb


def days_from(request: web.Request) -> int:
    raw = request.query.get("days", str(DEFAULT_STATS_DAYS))
    message = f"days must be a whole number from 1 to {MAX_STATS_DAYS}"
    try:
        days = int(raw)
    except ValueError:
        raise ApiError(400, "invalid_days", message) from None
    if not 1 <= days <= MAX_STATS_DAYS:
        raise ApiError(400, "invalid_days", message)
    return days


def figures_json(figures: pb.StatsFigures) -> dict[str, Any]:
    return {
        "completed": figures.completed,
        "failed": figures.failed,
        "cancelled": figures.cancelled,
        "bytesDownloaded": figures.bytes_downloaded,
        "medianDurationSeconds": (
            figures.median_duration_seconds if figures.HasField("median_duration_seconds") else None
        ),
        "p95DurationSeconds": (
            figures.p95_duration_seconds if figures.HasField("p95_duration_seconds") else None
        ),
        "retries": figures.retries,
    }


async def get_stats(request: web.Request) -> web.Response:
    reply = await request.app[JOBSTORE].stats(days_from(request))
    return web.json_response(
        {
            "days": [{"day": d.day, **figures_json(d.figures)} for d in reply.days],
            "totals": figures_json(reply.totals),
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/stats", get_stats)
