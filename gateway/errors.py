"""API errors: one JSON shape, one table from jobstore's status codes to HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
import structlog
from aiohttp import web

from haul.contract.reports import Error

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An error a REST caller should see: HTTP status, a stable code, and words."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


HTTP_FOR_GRPC: dict[grpc.StatusCode, tuple[int, str]] = {
    grpc.StatusCode.NOT_FOUND: (404, "not_found"),
    grpc.StatusCode.FAILED_PRECONDITION: (409, "conflict"),
    grpc.StatusCode.INVALID_ARGUMENT: (422, "invalid_request"),
    grpc.StatusCode.ALREADY_EXISTS: (422, "idempotency_key_reused"),
    grpc.StatusCode.UNAVAILABLE: (503, "jobstore_unavailable"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (503, "jobstore_unavailable"),
}

UNAVAILABLE_MESSAGE = "the job store is not reachable right now; try again in a few seconds"


def from_grpc(exc: grpc.aio.AioRpcError) -> ApiError:
    status, code = HTTP_FOR_GRPC.get(exc.code(), (500, "internal_error"))
    if status == 503:
        return ApiError(status, code, UNAVAILABLE_MESSAGE)
    if status == 500:
        log.error("jobstore call failed", grpc_code=exc.code().name, details=exc.details())
        return ApiError(500, code, "internal error")
    return ApiError(status, code, exc.details() or code)


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response(Error.saying(code, message).wire(), status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as JSON with a fitting status; never a stack trace."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except grpc.aio.AioRpcError as exc:
        error = from_grpc(exc)
        return error_response(error.status, error.code, error.message)
    except web.HTTPRequestEntityTooLarge:
        return error_response(413, "body_too_large", "the request body is too large")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        return error_response(exc.status, code, exc.reason)
    except Exception:
        log.exception("unhandled error", path=request.path)
        return error_response(500, "internal_error", "internal error")
