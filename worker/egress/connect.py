"""The guard's one way to an origin: resolve the name once, judge every address the resolver gave,
and connect to an allowed one, never resolving again. So redirects, HLS segments and keys, and
names that resolve differently the second time are all judged on the address connected to."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from ipaddress import ip_address
from typing import Any

import structlog

from worker.egress.http import HttpError
from worker.egress.policy import EgressPolicy

log = structlog.get_logger(__name__)

# getaddrinfo's "this name does not exist" (NXDOMAIN, or no address at all); EAI_AGAIN, a
# resolver that did not answer in time, is not among them.
NO_SUCH_NAME = frozenset(
    code for code in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None)) if code is not None
)


class NameNotFound(HttpError):
    """A 502 whose cause is final: the target's name does not exist."""


SockAddr = tuple[Any, ...]
# (host, port) → [(family, sockaddr)], as the resolver answered; injectable for tests.
Resolver = Callable[[str, int], Awaitable[list[tuple[int, SockAddr]]]]


async def system_resolver(host: str, port: int) -> list[tuple[int, SockAddr]]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [(family, sockaddr) for family, _type, _proto, _name, sockaddr in infos]


async def open_allowed(
    policy: EgressPolicy, resolver: Resolver, host: str, port: int, connect_seconds: float, job_id: str
) -> socket.socket:
    """A connected socket to an address of `host` the policy allows: 403 if it allows none,
    502 if the name does not resolve or no allowed address answers within `connect_seconds`."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(connect_seconds):
            candidates = await resolver(host, port)
    except socket.gaierror as exc:
        final = exc.errno in NO_SUCH_NAME
        raise (NameNotFound if final else HttpError)(502, f"cannot resolve {host}: {exc}") from None
    except (OSError, TimeoutError) as exc:
        raise HttpError(502, f"cannot resolve {host}: {exc}") from None
    allowed, reasons = [], []
    for family, sockaddr in candidates:
        reason = policy.check(ip_address(sockaddr[0]), port)
        if reason is None:
            allowed.append((family, sockaddr))
        else:
            reasons.append(reason)
    if not allowed:
        log.warning("egress_refused", job_id=job_id, host=host, port=port, reasons=reasons)
        raise HttpError(403, f"egress to {host}:{port} refused: " + "; ".join(reasons or ["no address"]))
    errors = []
    for family, sockaddr in allowed:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            async with asyncio.timeout(connect_seconds):
                await loop.sock_connect(sock, sockaddr)
        except (OSError, TimeoutError) as exc:
            sock.close()
            errors.append(f"{sockaddr[0]}: {exc or 'timed out'}")
            continue
        except BaseException:  # cancelled: the proxy is stopping
            sock.close()
            raise
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise HttpError(502, f"cannot connect to {host}:{port}: " + "; ".join(errors))
