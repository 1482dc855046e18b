"""The egress guard: a forward HTTP proxy that every connection of yt-dlp, aria2c and ffmpeg goes through.

For each request it resolves the target name itself, judges every address the resolver gave with
the `EgressPolicy`, and connects to one it allowed (never resolving again), so that redirects,
HLS segments and keys, and DNS rebinding are all judged on the address actually connected to.

- `CONNECT host:port` (https): `200`, then the bytes are relayed both ways; an end of file is
  passed on as a half-close, and once one direction has ended the other gets
  `timeouts.tunnel_grace` seconds before both sides are closed.
- `GET http://host:port/path HTTP/1.1` (plain http): one origin connection per request, forwarded
  in origin-form with `Connection: close`, and relayed back with `Connection: close`.
- Answers it gives itself: `400` malformed request, `403` refused by the policy (with the
  reason), `407` missing or wrong credentials, `429` the job's connection cap stayed full,
  `502` the name did not resolve or no allowed address could be reached, `504` the origin sent
  no response head in time.

Tools authenticate as `http://JOB_ID:TOKEN@host:port` (see `tool_egress`). A job holds at most
`max_connections_per_job` origin connections at once; a further request WAITS for a free slot,
up to `timeouts.cap_wait` seconds, then gets `429`: waiting suits tools that open many parallel
connections (aria2 `-x`, yt-dlp fragments) better than an immediate refusal would.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import os
import re
import secrets
import socket

import structlog

from worker.egress.connect import NameNotFound, Resolver, open_allowed, system_resolver
from worker.egress.http import (
    Head,
    HttpError,
    client_response,
    error_response,
    origin_request,
    parse_absolute_uri,
    parse_authority,
    parse_request_head,
    parse_response_head,
    proxy_credentials,
    request_body_length,
)
from worker.egress.limits import EgressStats, EgressTimeouts, JobSlots
from worker.egress.policy import EgressPolicy
from worker.egress.relay import Relay, RelayMode
from worker.egress.socket_io import accept_forever, copy_exact, linger, read_head
from worker.egress.thread import LoopThread
from worker.egress.tools import ToolEgress

log = structlog.get_logger(__name__)

JOB_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
MAX_INTERIM_RESPONSES = 8


class EgressProxy:
    """The proxy on `host`:`port` (0: any free port). Start and stop it on a running loop, or
    from synchronous code with `run_in_thread()`."""

    def __init__(
        self,
        policy: EgressPolicy,
        host: str = "127.0.0.1",
        port: int = 0,
        max_connections_per_job: int = 16,
        *,
        token: str | None = None,
        timeouts: EgressTimeouts | None = None,
        relay_mode: RelayMode | None = None,
        resolver: Resolver = system_resolver,
        unix_path: str | None = None,
    ) -> None:
        self.policy = policy
        self.host, self.port = host, port
        # Also listen here: the way in for tools in an isolated network namespace (netns.py).
        self.unix_path = unix_path
        self.token = token or secrets.token_urlsafe(24)
        self.timeouts = timeouts or EgressTimeouts()
        self.relay_mode = relay_mode or RelayMode.default()
        self.stats = EgressStats()
        self._resolver = resolver
        self._slots = JobSlots(max_connections_per_job)
        self._listeners: list[socket.socket] = []
        self._accepting: list[asyncio.Task[None]] = []
        self._serving: set[asyncio.Task[None]] = set()
        self._relays: set[Relay] = set()

    @property
    def url(self) -> str:
        """The proxy's address, without credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def credentials_for(self, job_id: str) -> str:
        """`JOB_ID:TOKEN`: what the tools of one job present to the proxy."""
        if not JOB_ID.match(job_id):
            raise ValueError(f"job id {job_id!r} must match {JOB_ID.pattern}")
        return f"{job_id}:{self.token}"

    def url_for(self, job_id: str) -> str:
        """The proxy URL to give the tools of one job: `http://JOB_ID:TOKEN@host:port`."""
        return self.url.replace("http://", f"http://{self.credentials_for(job_id)}@", 1)

    def tool_egress(self, job_id: str) -> ToolEgress:
        """Everything one job's tools are told about their way out (see worker.egress.tools)."""
        return ToolEgress(self.url_for(job_id), self.unix_path)

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        self._listen(listener)
        self.port = listener.getsockname()[1]
        if self.unix_path is not None:
            local = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            local.bind(self.unix_path)
            self._listen(local)
        log.info("egress_proxy_started", url=self.url, unix=self.unix_path, relay=self.relay_mode.value)

    def _listen(self, listener: socket.socket) -> None:
        listener.listen(512)
        listener.setblocking(False)
        self._listeners.append(listener)
        self._accepting.append(
            asyncio.create_task(accept_forever(listener, self._serve, self._serving), name="egress-accept")
        )

    async def stop(self) -> None:
        """Stop accepting, end every relayed connection, and return when all are closed."""
        for task in self._accepting:
            task.cancel()
        if self._accepting:
            await asyncio.wait(self._accepting)
        for listener in self._listeners:
            listener.close()
        if self.unix_path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.unix_path)
        for relay in list(self._relays):
            relay.abort()
        for task in list(self._serving):
            task.cancel()
        if self._serving:
            await asyncio.wait(list(self._serving), timeout=5)

    def run_in_thread(self) -> EgressProxyThread:
        """Start the proxy on its own event loop in a daemon thread (for a synchronous worker)."""
        return EgressProxyThread(self)

    def _authenticate(self, head: Head) -> str:
        credentials = proxy_credentials(head)
        if credentials is not None:
            job_id, token = credentials
            if JOB_ID.match(job_id) and hmac.compare_digest(token.encode(), self.token.encode()):
                return job_id
        raise HttpError(
            407, "proxy credentials required", (("Proxy-Authenticate", 'Basic realm="haul-egress"'),)
        )

    async def _serve(self, client: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        relay: Relay | None = None
        job_id = host = None
        authority = path = ""
        try:
            async with asyncio.timeout(self.timeouts.request_head):
                raw, rest = await read_head(loop, client, b"")
            if not raw:
                return
            head = parse_request_head(raw)
            job_id = self._authenticate(head)
            method, target, _ = head.first
            if method.upper() == "CONNECT":
                host, port = parse_authority(target, None)
            else:
                host, port, authority, path = parse_absolute_uri(target)
            async with self._slots.hold(job_id, self.timeouts.cap_wait):
                upstream = await self._open(job_id, host, port)
                relay = Relay(self.relay_mode, client, upstream)
                self._relays.add(relay)
                self.stats.active += 1
                try:
                    if method.upper() == "CONNECT":
                        await self._tunnel(loop, relay, rest)
                    else:
                        await self._forward(loop, relay, head, origin_request(head, authority, path), rest)
                finally:
                    self.stats.active -= 1
        except HttpError as error:
            self._count(error, job_id, host)
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(5):
                    await loop.sock_sendall(client, error_response(error))
        except (OSError, TimeoutError) as exc:
            log.debug("egress_connection_ended", job_id=job_id, host=host, error=repr(exc))
        except Exception:  # a bug here must not end the proxy, nor pass silently
            log.exception("egress_connection_failed", job_id=job_id, host=host)
        finally:
            if relay is not None:
                self._relays.discard(relay)
                await relay.close()
            else:
                client.close()

    def _count(self, error: HttpError, job_id: str | None, host: str | None) -> None:
        if error.status == 403:
            self.stats.refused += 1
        elif error.status in (502, 504):
            self.stats.failed += 1
            self.stats.unresolved += isinstance(error, NameNotFound)
        else:
            self.stats.rejected += 1
        if error.status != 403:  # refusals were logged with their addresses already
            log.info(
                "egress_request_failed", job_id=job_id, host=host, status=error.status, reason=error.message
            )

    async def _open(self, job_id: str, host: str, port: int) -> socket.socket:
        upstream = await open_allowed(self.policy, self._resolver, host, port, self.timeouts.connect, job_id)
        self.stats.allowed += 1
        return upstream

    async def _tunnel(self, loop: asyncio.AbstractEventLoop, relay: Relay, early: bytes) -> None:
        await loop.sock_sendall(relay.client, b"HTTP/1.1 200 Connection established\r\n\r\n")
        if early:  # a client that did not wait for the 200
            await loop.sock_sendall(relay.upstream, early)
        relay.start("up")
        relay.start("down")
        await relay.wait(self.timeouts.tunnel_grace)

    async def _forward(
        self, loop: asyncio.AbstractEventLoop, relay: Relay, request: Head, forwarded: bytes, early: bytes
    ) -> None:
        """One request, one response, then the connection closes. Only the request's own body is
        forwarded (a chunked one: whatever the client sends), never a pipelined next request."""
        length = request_body_length(request)
        first = early if length is None else early[:length]
        await loop.sock_sendall(relay.upstream, forwarded + first)
        sending: asyncio.Task[None] | None = None
        if length is None:
            relay.start("up")
        elif length > len(first):  # the rest of the body, while the origin answers
            sending = asyncio.create_task(copy_exact(loop, relay.client, relay.upstream, length - len(first)))
        try:
            response, leftover = await self._response_head(loop, relay)
            await loop.sock_sendall(relay.client, client_response(response) + leftover)
            await relay.start("down")
        finally:
            if sending is not None:
                sending.cancel()
                await asyncio.wait({sending})
        if length is not None:
            await linger(loop, relay.client)

    async def _response_head(self, loop: asyncio.AbstractEventLoop, relay: Relay) -> tuple[Head, bytes]:
        """The origin's final response head (interim 1xx ones are passed on) and the bytes after it."""
        leftover = b""
        try:
            async with asyncio.timeout(self.timeouts.response_head):
                for _ in range(MAX_INTERIM_RESPONSES + 1):
                    raw, leftover = await read_head(loop, relay.upstream, leftover)
                    if not raw:
                        raise HttpError(502, "the origin closed the connection without a response")
                    head = parse_response_head(raw)
                    if not head.first[1].startswith("1") or head.first[1] == "101":
                        return head, leftover
                    await loop.sock_sendall(relay.client, raw)  # 100 Continue and the like
        except TimeoutError:
            raise HttpError(504, "the origin sent no response in time") from None
        except ConnectionError:
            raise HttpError(502, "the origin closed the connection inside its response head") from None
        raise HttpError(502, "too many interim responses")


class EgressProxyThread(LoopThread[EgressProxy]):
    """The proxy on its own event loop in a daemon thread, for the synchronous work horse."""

    def __init__(self, proxy: EgressProxy) -> None:
        super().__init__(proxy, "egress-proxy")

    @property
    def proxy(self) -> EgressProxy:
        return self.service
