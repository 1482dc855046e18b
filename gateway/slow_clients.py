"""Deadlines for clients that connect and then stall, so they cannot hold the gateway's sockets.

Two limits, both from GatewaySettings:

- HAUL_HEADER_TIMEOUT: a connection must deliver a complete request line and headers within
  this long of opening, or of the end of its previous response. This is aiohttp's keep-alive
  timer (`keepalive_timeout`): from 3.14.4 on, aiohttp arms it when a connection opens as well
  as after each response, and when it fires while no request is being handled, the connection
  is closed, however many header bytes have trickled in. Using it, rather than a wrapper of our
  own, keeps every other part of aiohttp's protocol handling as it is. The same value is
  therefore the keep-alive idle limit, which suits browsers and REST clients (they reconnect).
- HAUL_BODY_TIMEOUT: once the headers are in, the whole body must arrive within this long. The
  middleware below closes the connection otherwise; it does not read the body itself, so the
  Socket.IO polling transport, which reads bodies on its own, is covered too.

Neither limit touches a request that is being answered: a websocket, a long-poll or a file
download runs as long as it needs.
"""

from __future__ import annotations

import asyncio
from typing import TypedDict

from aiohttp import web

from gateway.errors import Handler
from gateway.settings import GatewaySettings


class ServerOptions(TypedDict):
    """The keyword arguments of `web.run_app` and `web.AppRunner` that set the header deadline."""

    keepalive_timeout: float


def server_options(settings: GatewaySettings) -> ServerOptions:
    """What the server that runs the gateway app must be given; tests start theirs with it too."""
    return ServerOptions(keepalive_timeout=settings.header_timeout)


def body_deadline_middleware(seconds: float) -> web.middleware:  # type: ignore[valid-type]
    """Close the connection of a request whose body has not fully arrived `seconds` after its headers."""

    @web.middleware
    async def body_deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.body_exists or request.content.is_eof():
            return await handler(request)

        def cut_off() -> None:
            # Only a body still arriving is cut off; one fully received is the handler's to use.
            if not request.content.is_eof() and request.transport is not None:
                request.transport.close()

        timer = asyncio.get_running_loop().call_later(seconds, cut_off)
        try:
            return await handler(request)
        finally:
            timer.cancel()

    return body_deadline
