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
    print(f"haul gateway: http://{settings.host}:{settings.port}", flush=True)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=None,
        shutdown_timeout=10,
        **server_options(settings),
    )
    exit_now()  # stopped in order: skip the interpreter's teardown (about a second)


if __name__ == "__main__":
    main()
