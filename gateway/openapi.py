"""`GET /openapi.json` and a `/docs` page. (Filled in fully by the OpenAPI work.)"""

from __future__ import annotations

from typing import Any

from aiohttp import web

SPEC: dict[str, Any] = {"openapi": "3.0.3", "info": {"title": "haul", "version": "1"}, "paths": {}}


async def openapi_json(_request: web.Request) -> web.Response:
    return web.json_response(SPEC)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/openapi.json", openapi_json)
