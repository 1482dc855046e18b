"""One table from domain errors to gRPC status codes, applied by one decorator."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias, TypeVar

import grpc
import structlog

from jobstore.adapters.changefeed import FeedLost
from jobstore.domain.archive import ArchiveEntryNotFound
from jobstore.domain.errors import (
    IdempotencyConflict,
    InvalidInput,
    InvalidTransition,
    JobNotFound,
    StoreUnavailable,
)

log = structlog.get_logger(__name__)

STATUS_FOR_ERROR: dict[type[Exception], grpc.StatusCode] = {
    JobNotFound: grpc.StatusCode.NOT_FOUND,
    ArchiveEntryNotFound: grpc.StatusCode.NOT_FOUND,
    InvalidTransition: grpc.StatusCode.FAILED_PRECONDITION,
    InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    IdempotencyConflict: grpc.StatusCode.ALREADY_EXISTS,
    StoreUnavailable: grpc.StatusCode.UNAVAILABLE,
    FeedLost: grpc.StatusCode.UNAVAILABLE,
}

Reply = TypeVar("Reply")
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


def status_for(exc: Exception) -> tuple[grpc.StatusCode, str]:
    for error_type, code in STATUS_FOR_ERROR.items():
        if isinstance(exc, error_type):
            return code, str(exc)
    return grpc.StatusCode.INTERNAL, "internal error"


async def _abort(context: Context, method: str, exc: Exception) -> None:
    code, message = status_for(exc)
    if code is grpc.StatusCode.INTERNAL:
        log.exception("rpc failed", method=method)
    await context.abort(code, message)


def unary(
    method: Callable[[Any, Any, Context], Awaitable[Reply]],
) -> Callable[[Any, Any, Context], Awaitable[Reply]]:
    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: Context) -> Reply:
        try:
            return await method(self, request, context)
        except Exception as exc:
            await _abort(context, method.__name__, exc)
            raise  # unreachable: abort raises

    return wrapper


def streaming(
    method: Callable[[Any, Any, Context], AsyncIterator[Reply]],
) -> Callable[[Any, Any, Context], AsyncIterator[Reply]]:
    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: Context) -> AsyncIterator[Reply]:
        try:
            async for reply in method(self, request, context):
                yield reply
        except Exception as exc:
            await _abort(context, method.__name__, exc)

    return wrapper
