"""Builds the gateway: aiohttp app, Socket.IO server, progress flusher, worker assignments,
change-feed fan-out."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import socketio
import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway import apidocs, archive_routes, stats, subscription_routes
from gateway.assignments import WorkerAssignments
from gateway.errors import error_middleware
from gateway.fanout import Fanout
from gateway.health import health_report, live
from gateway.jobstore_client import JobstoreClient
from gateway.metrics import GatewayMetrics
from gateway.progress import ProgressBuffer, ProgressFlusher
from gateway.ratelimit import SenderRateCap
from gateway.rest import DATA_DIR, JOBSTORE, TMP_DIR, add_routes
from gateway.rooms import CheckedRedisManager
from gateway.security import auth_middleware, cors_middleware, metrics_middleware
from gateway.settings import GatewaySettings
from gateway.slow_clients import body_deadline_middleware
from gateway.sockets import BrowserNamespace, WorkerControl, WorkerNamespace, WorkerRegistry
from gateway.worker_tokens import WorkerTokens

log = structlog.get_logger(__name__)

# Socket.IO messages up to 2 MB are parsed, so an oversized field is refused by validation
# (and counted) rather than by dropping the connection.
MAX_SOCKET_MESSAGE = 2 * 1024 * 1024


class Gateway:
    """The parts of one gateway instance, reachable from handlers and tests."""

    def __init__(self, settings: GatewaySettings, jobstore: JobstoreClient) -> None:
        self.settings = settings
        self.jobstore = jobstore
        self.metrics = GatewayMetrics()
        self.registry = WorkerRegistry()
        manager = CheckedRedisManager(settings.redis_url) if settings.redis_url else None
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            client_manager=manager,
            cors_allowed_origins=settings.cors_origins or None,
            max_http_buffer_size=MAX_SOCKET_MESSAGE,
        )
        buffer = ProgressBuffer(
            settings.progress_max_jobs,
            SenderRateCap(settings.worker_events_per_second, settings.worker_events_burst),
        )
        # The one owner of "which worker holds which job, and when it must stop": the change
        # feed, jobstore's progress refusals and the /worker handlers all report to it.
        self.assignments = WorkerAssignments(WorkerControl(self.sio), buffer)
        self.flusher = ProgressFlusher(
            buffer, jobstore.report_progress, settings.flush_interval, self.assignments, self.metrics.flushed
        )
        self.workers = WorkerNamespace(
            WorkerTokens(
                settings.shared_worker_token(),
                [(worker_id, token.get_secret_value()) for worker_id, token in settings.worker_tokens],
            ),
            jobstore,
            self.flusher,
            self.assignments,
            self.registry,
            self.metrics,
            data_dir=settings.data_dir,
        )
        self.sio.register_namespace(self.workers)
        self.sio.register_namespace(BrowserNamespace(settings.api_tokens(), jobstore, self.metrics))
        self.fanout = Fanout(self.sio, jobstore, self.assignments, self.metrics)
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self, _app: web.Application) -> None:
        manager = self.sio.manager
        if isinstance(manager, CheckedRedisManager):
            await manager.self_test(self.sio)
            log.info("shared Socket.IO rooms verified through Redis")
        self.tasks = [
            asyncio.create_task(self.fanout.run(), name="fanout"),
            asyncio.create_task(self.flusher.run(), name="progress-flusher"),
        ]

    async def drain(self, _app: web.Application) -> None:
        """On shutdown: send what is buffered, then let every socket go so clients reconnect elsewhere."""
        with contextlib.suppress(Exception):
            await self.flusher.flush(self.flusher.buffer.take_all())
        for namespace in ("/worker", "/jobs"):
            for sid, _eio_sid in list(self.sio.manager.get_participants(namespace, None)):
                with contextlib.suppress(Exception):
                    await self.sio.disconnect(sid, namespace=namespace, ignore_queue=True)
        with contextlib.suppress(Exception):
            await self.sio.shutdown()

    async def stop(self, _app: web.Application) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.jobstore.close()


GATEWAY = web.AppKey("gateway", Gateway)


async def health(request: web.Request) -> web.Response:
    """200 when ready (a worker connected); `/health/serving` is 200 once the API serves."""
    gateway = request.app[GATEWAY]
    report = await health_report(
        gateway.jobstore, gateway.settings.redis_url, gateway.registry, gateway.fanout
    )
    ok = report["serving"] if request.path.endswith("/serving") else report["ready"]
    return web.json_response(report, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[GATEWAY].metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_web_ui(app: web.Application, web_dir: Path) -> None:
    """Serve the built UI at / when it exists; hashed assets are cached for a year."""
    index = web_dir / "index.html"

    async def page(_request: web.Request) -> web.StreamResponse:
        if index.is_file():
            return web.FileResponse(index, headers={"Cache-Control": "no-cache"})
        return web.Response(
            text="<!doctype html><title>haul</title><p>The web UI is not built. The API is described at "
            '<a href="/docs">/docs</a>.</p>',
            content_type="text/html",
        )

    app.router.add_get("/", page)
    assets = web_dir / "assets"
    if assets.is_dir():

        async def cache_forever(_request: web.Request, response: web.StreamResponse) -> None:
            if _request.path.startswith("/assets/"):
                response.headers["Cache-Control"] = "public, max-age=31536000, immutable"

        app.router.add_static("/assets", assets)
        app.on_response_prepare.append(cache_forever)


def create_app(settings: GatewaySettings, jobstore: JobstoreClient | None = None) -> web.Application:
    """The whole gateway as an aiohttp app; `jobstore` may be given by tests."""
    client = jobstore or JobstoreClient(
        settings.jobstore_address, settings.service_token_to_send(), settings.jobstore_deadline
    )
    gateway = Gateway(settings, client)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            body_deadline_middleware(settings.body_timeout),
            cors_middleware(settings.cors_origins),
            metrics_middleware(gateway.metrics),
            error_middleware,
            auth_middleware(settings.api_tokens()),
        ],
    )
    app[GATEWAY] = gateway
    app[JOBSTORE] = client
    app[DATA_DIR] = settings.data_dir.resolve()
    app[TMP_DIR] = settings.tmp_dir.resolve()
    add_routes(app)
    stats.add_routes(app)
    archive_routes.add_routes(app)
    subscription_routes.add_routes(app)
    app.router.add_get("/health", health)
    app.router.add_get("/health/serving", health)
    app.router.add_get("/health/live", live)
    app.router.add_get("/metrics", metrics)
    apidocs.add_routes(app)
    gateway.sio.attach(app)
    add_web_ui(app, settings.web_dir)
    app.on_startup.append(gateway.start)
    app.on_shutdown.append(gateway.drain)
    app.on_cleanup.append(gateway.stop)
    return app
