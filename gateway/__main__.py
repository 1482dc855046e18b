"""`python -m gateway`: serve REST and Socket.IO (default http://127.0.0.1:8080)."""

from __future__ import annotations

from aiohttp import web

from gateway.app import create_app
from gateway.settings import GatewaySettings
from gateway.slow_clients import server_options
from haul.runtime.exiting import exit_now
from haul.runtime.logging import configure_logging


def main() -> None:
    settings = GatewaySettings()
    configure_logging(settings.log_format, settings.log_level)
    app = create_app(settings)

    async def leave(_app: web.Application) -> None:
        # The app's own stop has run (sockets drained, progress flushed, jobstore's channel
        # closed). What aiohttp and the loop still do after it, gRPC's teardown with the loop
        # among it, held the gateway up to 1-2 s on a busy machine: leave now.
        exit_now()

    app.on_cleanup.append(leave)  # after the gateway's own cleanup
    print(f"haul gateway: http://{settings.host}:{settings.port}", flush=True)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=None,
        shutdown_timeout=10,
        **server_options(settings),
    )
    exit_now()  # not reached after a stop (see leave); kept should run_app return otherwise


if __name__ == "__main__":
    main()
