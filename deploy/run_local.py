"""The all-in-one local launcher behind `make run`: every haul process on this machine.

It runs the migrations, then starts jobstore and the gateway as child processes, prints the
URL to open, and on Ctrl-C (or SIGTERM) stops them in reverse order, each with SIGTERM and a
grace period, so nothing is left behind. If any child dies, the others are stopped too and
the launcher exits with an error. Settings come from the same HAUL_* variables the services
read; the defaults keep everything on loopback with an SQLite database under var/.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 15.0
READY_SECONDS = 60.0


def start(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    print(f"starting {name}", flush=True)
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env)


def wait_ready(url: str, children: list[subprocess.Popen[bytes]]) -> bool:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            return False
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in reversed(children):
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for child in reversed(children):
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main() -> int:
    env = dict(os.environ)
    env.setdefault("HAUL_DATABASE_URL", "sqlite+aiosqlite:///var/haul.db")
    env.setdefault("HAUL_DATA_DIR", "var/data")
    host, port = env.setdefault("HAUL_HOST", "127.0.0.1"), env.setdefault("HAUL_PORT", "8080")
    env.setdefault("HAUL_JOBSTORE_ADDRESS", env.get("HAUL_JOBSTORE_LISTEN", "127.0.0.1:50051"))

    migrated = subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env)
    if migrated.returncode != 0:
        print("migrations failed; nothing was started", file=sys.stderr)
        return 1

    stopping = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    children = [start("jobstore", ["-m", "jobstore"], env), start("gateway", ["-m", "gateway"], env)]
    try:
        shown = "localhost" if host in ("127.0.0.1", "::1") else host
        if wait_ready(f"http://127.0.0.1:{port}/health/live", children):
            print(
                f"\n  haul is running: http://{shown}:{port}   (API docs: /docs; Ctrl-C stops everything)\n",
                flush=True,
            )
        while not stopping:
            if any(child.poll() is not None for child in children):
                print("a haul process exited; stopping the others", file=sys.stderr)
                return 1
            time.sleep(0.3)
        print("stopping haul", flush=True)
        return 0
    finally:
        stop(children)


if __name__ == "__main__":
    sys.exit(main())
