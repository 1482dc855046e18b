"""The optional service token, checked on every call but the health service. Several may be
accepted at once while the token is rotated (HAUL_SERVICE_TOKEN=new,old)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeAlias

import grpc

from haul.runtime.tokens import token_accepted

OPEN_SERVICES = ("/grpc.health.v1.Health/",)
DENIED = "a valid service token is required"
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


async def _deny(_request: Any, context: Context) -> None:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, DENIED)


async def _deny_stream(_request: Any, context: Context) -> AsyncIterator[None]:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, DENIED)
    yield None  # never reached; makes this an async generator as streaming handlers must be


def _refusal_like(handler: Handler) -> Handler:
    """A handler of the same streaming shape as `handler` that refuses the call."""
    codec = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(_deny_stream, **codec)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(_deny, **codec)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(_deny_stream, **codec)
    return grpc.unary_unary_rpc_method_handler(_deny, **codec)


class ServiceTokenInterceptor(grpc.aio.ServerInterceptor):
    """Refuses every call but health unless it carries one of `tokens` (several while rotating)."""

    def __init__(self, tokens: Sequence[str]) -> None:
        if not tokens:
            raise ValueError("a service token interceptor needs at least one token")
        self._accepted = tuple(f"Bearer {token}".encode() for token in tokens)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(details)
        if handler is None or details.method.startswith(OPEN_SERVICES):
            return handler
        presented = dict(details.invocation_metadata or ()).get("authorization", "")
        if isinstance(presented, str) and token_accepted(presented, self._accepted):
            return handler
        return _refusal_like(handler)
