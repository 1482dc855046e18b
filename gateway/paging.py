"""The one paging convention of every REST list: `?limit=&cursor=` in, `{items, nextCursor}` out.

`GET /downloads`, `GET /archive` and `GET /subscriptions` read their page the same way, so a client
pages them all with one loop; the cursor is jobstore's opaque `page_token`, passed through.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

import grpc
from aiohttp import web

from gateway.errors import ApiError
from haul.contract import limits

Reply = TypeVar("Reply")

FOREIGN_CURSOR = "the cursor is not one this server issued"


@dataclass(frozen=True)
class PageQuery:
    """A list request's page: how many items, and after which (empty: from the newest)."""

    limit: int
    cursor: str


def page_query(request: web.Request) -> PageQuery:
    """The checked `limit` and `cursor` of a list request; a bad one is the caller's 400."""
    try:
        limit = int(request.query.get("limit", limits.DEFAULT_PAGE_SIZE))
    except ValueError:
        raise ApiError(400, "invalid_limit", "limit must be a whole number") from None
    if not 1 <= limit <= limits.MAX_PAGE_SIZE:
        raise ApiError(400, "invalid_limit", f"limit must be between 1 and {limits.MAX_PAGE_SIZE}")
    cursor = request.query.get("cursor", "")
    if len(cursor) > limits.MAX_SHORT_TEXT:
        raise ApiError(400, "invalid_cursor", FOREIGN_CURSOR)
    return PageQuery(limit=limit, cursor=cursor)


async def fetch_page(listing: Awaitable[Reply]) -> Reply:
    """Await one jobstore list call whose other arguments were checked already, so the cursor is the
    only thing it can refuse as INVALID_ARGUMENT: that refusal is the caller's 400."""
    try:
        return await listing
    except grpc.aio.AioRpcError as exc:
        if exc.code() is grpc.StatusCode.INVALID_ARGUMENT:
            raise ApiError(400, "invalid_cursor", FOREIGN_CURSOR) from None
        raise
