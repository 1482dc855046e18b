"""API token, CORS and request counting, as aiohttp middlewares."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from gateway.errors import Handler, error_response
from gateway.metrics import GatewayMetrics
from haul.runtime.tokens import token_accepted

# Paths anyone may read: probes, the API description, and the page itself (it asks for the token).
OPEN_PREFIXES = ("/health", "/openapi.json", "/docs", "/socket.io/")
API_PREFIXES = ("/downloads", "/files", "/metrics", "/stats")


def auth_middleware(api_tokens: Sequence[str]) -> web.middleware:  # type: ignore[valid-type]
    """Every API path needs `Authorization: Bearer` with one of `api_tokens` (several while the
    token is rotated); with none, the API is open."""
    accepted = tuple(f"Bearer {token}".encode() for token in api_tokens)

    @web.middleware
    async def check_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not accepted or request.method == "OPTIONS" or not request.path.startswith(API_PREFIXES):
            return await handler(request)
        if not token_accepted(request.headers.get("Authorization", ""), accepted):
            response = error_response(
                401, "unauthorized", "a valid API token is required (Authorization: Bearer …)"
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="haul"'
            return response
        return await handler(request)

    return check_token


def cors_middleware(allowed_origins: list[str]) -> web.middleware:  # type: ignore[valid-type]
    """Only the configured origins get CORS headers; an arbitrary Origin is never reflected."""
    allowed = frozenset(allowed_origins)

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        is_preflight = request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
        if is_preflight:
            response: web.StreamResponse = web.Response(status=204 if origin in allowed else 403)
        else:
            response = await handler(request)
        if origin is not None and origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Access-Control-Expose-Headers"] = (
                "Location, Idempotent-Replayed, ETag, Content-Disposition"
            )
            if is_preflight:
                response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
                response.headers["Access-Control-Allow-Headers"] = (
                    "Authorization, Content-Type, Idempotency-Key, Range"
                )
                response.headers["Access-Control-Max-Age"] = "600"
        response.headers.add("Vary", "Origin")
        return response

    return cors


def metrics_middleware(metrics: GatewayMetrics) -> web.middleware:  # type: ignore[valid-type]
    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        metrics.http_requests.labels(request.method, route, str(response.status)).inc()
        return response

    return count
