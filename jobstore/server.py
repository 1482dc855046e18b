"""Assembles jobstore: engine, change feed, gRPC server with health and reflection, loops."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass, field

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from sqlalchemy.ext.asyncio import AsyncEngine

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from jobstore import service
from jobstore.adapters.changefeed import ChangeHub, LocalChangeFeed, PostgresChangeFeed
from jobstore.adapters.db import asyncpg_dsn, create_engine, is_sqlite
from jobstore.adapters.rqueue import RqDispatcher
from jobstore.adapters.uow import SqlUnitOfWork
from jobstore.grpcapi.auth import ServiceTokenInterceptor
from jobstore.grpcapi.servicer import JobStoreServicer
from jobstore.loops import DailyStatsLoop, DispatchLoop, ReapLoop
from jobstore.metrics import JobstoreMetrics, MetricsServer
from jobstore.ports import ChangeFeed
from jobstore.settings import JobstoreSettings
from jobstore.subscription_loop import SubscriptionLoop
from jobstore.subscriptions import CheckPolicy

log = structlog.get_logger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["JobStoreService"].full_name


@dataclass
class Jobstore:
    """A built, not yet started, jobstore. Tests build one in-process; `serve` runs one."""

    settings: JobstoreSettings
    engine: AsyncEngine
    hub: ChangeHub
    feed: ChangeFeed
    server: grpc.aio.Server
    health: health.aio.HealthServicer
    dispatcher: RqDispatcher | None
    metrics: JobstoreMetrics
    port: int = 0
    # Where /metrics is served; 0 when HAUL_JOBSTORE_METRICS_LISTEN is empty.
    metrics_port: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    metrics_server: MetricsServer | None = None

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.feed, self.metrics)

    async def start(self) -> None:
        if self.settings.jobstore_metrics_listen:
            self._serve_metrics(self.settings.jobstore_metrics_listen)
        if self.feed.crosses_replicas:
            self.tasks.append(asyncio.create_task(self.feed.listen(), name="change-feed"))
        s = self.settings
        if s.requeue_running_at_start:
            for job in await service.requeue_interrupted(self.unit_of_work()):
                log.info("interrupted job queued again", job_id=str(job.id), attempt=job.attempt)
        self.tasks.append(
            asyncio.create_task(ReapLoop(self.unit_of_work, s.heartbeat_timeout, s.reap_interval).run())
        )
        rollup = DailyStatsLoop(self.unit_of_work, s.daily_stats_interval)
        checks = SubscriptionLoop(self.unit_of_work, check_policy(s), s.subscription_check_period)
        self.tasks.append(asyncio.create_task(checks.run(), name="subscription-checks"))
        self.tasks.append(asyncio.create_task(rollup.run(), name="daily-stats-rollup"))
        if self.dispatcher is not None:
            dispatch = DispatchLoop(
                self.unit_of_work, self.dispatcher, s.dispatch_interval, self.metrics.queue_depth.set
            )
            self.hub.listeners.append(dispatch.notice)
            self.tasks.append(asyncio.create_task(dispatch.run(), name="dispatcher"))
        else:
            log.warning("HAUL_REDIS_URL is not set: jobs are stored but not dispatched to workers")
        await self.server.start()
        await self.health.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        log.info(
            "jobstore serving",
            listen=s.jobstore_listen,
            port=self.port,
            metrics_port=self.metrics_port or None,
            database=_redacted(s.database_url),
        )

    def _serve_metrics(self, listen: str) -> None:
        """Serve /metrics, or say loudly why not: a taken metrics port must not keep the only
        writer to the database from serving (Prometheus reports the target as down)."""
        server = MetricsServer(self.metrics.registry)
        try:
            self.metrics_port = server.start(listen)
        except OSError as exc:
            log.error("Prometheus metrics not served", listen=listen, error=str(exc))
            return
        self.metrics_server = server

    async def stop(self) -> None:
        """Graceful: report NOT_SERVING, end watch streams, let RPCs finish, then let go of the DB."""
        await self.health.enter_graceful_shutdown()
        self.hub.fail_all("jobstore is shutting down")
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.server.stop(self.settings.shutdown_grace)
        if self.dispatcher is not None:
            self.dispatcher.close()
        await self.feed.close()
        await self.engine.dispose()
        if self.metrics_server is not None:
            await asyncio.to_thread(self.metrics_server.stop)  # waits up to half a second
        log.info("jobstore stopped")


def build(settings: JobstoreSettings) -> Jobstore:
    engine = create_engine(settings.database_url)
    hub = ChangeHub()
    feed: ChangeFeed
    if is_sqlite(settings.database_url):
        feed = LocalChangeFeed(hub)
    else:
        feed_engine = create_engine(settings.database_url, pool_size=2)
        feed = PostgresChangeFeed(hub, feed_engine, asyncpg_dsn(settings.database_url))
    interceptors = []
    if settings.accepted_service_tokens():
        interceptors.append(ServiceTokenInterceptor(settings.accepted_service_tokens()))
    server = grpc.aio.server(interceptors=interceptors)
    dispatcher = None
    if settings.redis_url:
        # A worker claims within about a second of starting an RQ job, and starts one well under a
        # second after taking it off the queue list; allow it ample time for both.
        dispatcher = RqDispatcher(
            settings.redis_url,
            settings.queue_name,
            settings.max_job_duration,
            claim_grace=60.0,
            dequeue_grace=60.0,
        )
    health_servicer = health.aio.HealthServicer()
    metrics = JobstoreMetrics()
    app = Jobstore(settings, engine, hub, feed, server, health_servicer, dispatcher, metrics)
    pb_grpc.add_JobStoreServiceServicer_to_server(
        JobStoreServicer(
            app.unit_of_work,
            hub,
            settings.default_max_attempts,
            metrics,
            collection_max_items=settings.collection_max_items,
            subscription_min_interval=settings.subscription_min_interval,
        ),
        server,
    )
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
    app.port = server.add_insecure_port(settings.jobstore_listen)
    if app.port == 0:
        raise RuntimeError(f"cannot listen on {settings.jobstore_listen}")
    return app


async def serve(settings: JobstoreSettings) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    app = build(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    await stop.wait()
    log.info("jobstore shutting down")
    await app.stop()


def check_policy(settings: JobstoreSettings) -> CheckPolicy:
    return CheckPolicy(settings.default_max_attempts, settings.collection_max_items)


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
