"""`GET /stats?days=N`: daily figures of finished downloads, from jobstore's GetStats.

What each figure means is jobstore's to say (`jobstore.domain.stats`, and the README); this
module only checks the query; the reply's shape is `haul.contract.reports.Stats`.
"""

from __future__ import annotations

from aiohttp import web

from gateway.errors import ApiError
from gateway.rest import JOBSTORE
from haul.contract import from_proto
from haul.contract.limits import DEFAULT_STATS_DAYS, MAX_STATS_DAYS


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


async def get_stats(request: web.Request) -> web.Response:
    reply = await request.app[JOBSTORE].stats(days_from(request))
    return web.json_response(from_proto.stats(reply).wire())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/stats", get_stats)
