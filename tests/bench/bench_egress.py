"""How much the egress guard costs: relay throughput per core, and the slowdown of real downloads.

Run: `.venv/bin/python -m tests.bench.bench_egress [--size-mb 200] [--rounds 3]`

An aiohttp origin on 127.0.0.2 (a separate process) serves a file of `--size-mb`; clients are
separate processes too (curl, aria2c, else a Python reader), so the CPU time of this process is the
proxy's own (`time.process_time` covers all its threads). For each relay mode it prints:
- the relay through a CONNECT tunnel and through plain HTTP: wall MB/s and MB per CPU-second;
- then, with the default mode, each downloader with and without the guard, and with the guard
  from inside an isolated network namespace (through the bridge, as the worker runs its tools),
  in the same run, and the time the guard adds to a small request on a new connection.
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from worker.egress.bridge import UnixBridge
from worker.egress.netns import enter_isolated_network, isolation_available
from worker.egress.policy import EgressPolicy
from worker.egress.proxy import EgressProxy, EgressProxyThread
from worker.egress.relay import RelayMode
from worker.egress.tools import ToolEgress

ORIGIN_HOST = "127.0.0.2"
MB = 1024 * 1024


def serve_origin(folder: str, port: int) -> None:
    """The origin process: aiohttp's static file handler (sendfile, Range) on ORIGIN_HOST."""
    from aiohttp import web

    app = web.Application()
    app.router.add_static("/", folder)
    web.run_app(app, host=ORIGIN_HOST, port=port, print=None, access_log=None)


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port}")


def make_file(path: Path, size: int) -> None:
    block = os.urandom(MB)
    with open(path, "wb") as out:
        for _ in range(size // MB):
            out.write(block)


def python_reader(url: str, proxy: str | None, tunnel: bool) -> list[str]:
    """A client for machines without curl: urllib through the proxy, the body thrown away."""
    code = (
        "import sys, urllib.request as u\n"
        "p = sys.argv[2]\n"
        "h = u.ProxyHandler({'http': p, 'https': p} if p else {})\n"
        "r = u.build_opener(h).open(sys.argv[1])\n"
        "while r.read(1 << 20): pass\n"
    )
    return [sys.executable, "-c", code, url, proxy or ""]


def curl(url: str, proxy: str | None, tunnel: bool) -> list[str]:
    command = ["curl", "-sS", "--fail", "-o", "/dev/null", "--noproxy", "" if proxy else "*", url]
    if proxy:
        command += ["-x", proxy] + (["-p"] if tunnel else [])
    return command


def aria2(url: str, proxy: str | None, tunnel: bool, folder: Path) -> list[str]:
    command = ["aria2c", "-q", "--allow-overwrite=true", "--auto-file-renaming=false", "-d", str(folder),
               "-o", "bench.out", "--file-allocation=none", url]  # fmt: skip
    if proxy:
        command += [f"--{name}={value}" for name, value in ToolEgress(proxy).aria2_global_options().items()]
        command += ["--proxy-method=tunnel"] if tunnel else []
    return command


def proxied_environment(egress: ToolEgress) -> dict[str, str]:
    """A client's environment behind the guard: no proxy variable but the guard's (curl and the
    Python reader take it from here; aria2c from its options)."""
    proxy = egress.proxy_url or ""
    return {**egress.tool_environment(os.environ), "http_proxy": proxy, "https_proxy": proxy}


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds of the client, CPU seconds this process spent meanwhile: the proxy's)."""
    cpu, start = time.process_time(), time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, timeout=600)
    return time.perf_counter() - start, time.process_time() - cpu


def relay_figures(
    handle: EgressProxyThread, url: str, size: int, rounds: int, client: Callable[..., list[str]]
) -> None:
    proxy = handle.proxy.url_for("bench")
    env = proxied_environment(ToolEgress(proxy))
    for tunnel in (True, False):
        walls, cpus = zip(*(timed(client(url, proxy, tunnel), env) for _ in range(rounds)), strict=True)
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        print(f"  {'CONNECT tunnel' if tunnel else 'plain HTTP':15} {size / MB / wall:7.0f} MB/s wall   "
              f"{size / MB / max(cpu, 1e-6):7.0f} MB per proxy CPU-second   ({cpu * 1000:.0f} ms CPU)")  # fmt: skip


def timed_isolated(command: list[str], handle: EgressProxyThread, direct_proxy: str | None) -> float:
    """Wall seconds of `command` run as the worker runs its tools: in an isolated network namespace,
    its proxy setting replaced by the loopback bridge to the guard's Unix socket."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports its time through the pipe
        os.close(read)
        seconds = -1.0
        try:
            enter_isolated_network()
            egress = handle.proxy.tool_egress("bench")
            with UnixBridge(egress.unix_path or "").run_in_thread() as bridge:
                relayed = egress.relayed_through(bridge.service.port)
                proxy = relayed.proxy_url or ""
                isolated = [arg.replace(direct_proxy, proxy) if direct_proxy else arg for arg in command]
                seconds = timed(isolated, proxied_environment(relayed))[0]
        finally:
            os.write(write, str(seconds).encode())
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as source:
        seconds = float(source.read() or -1)
    os.waitpid(pid, 0)
    return seconds


def download_figures(handle: EgressProxyThread, url: str, size: int, rounds: int, folder: Path) -> None:
    proxy = handle.proxy.url_for("bench")
    env_direct = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env_proxied = proxied_environment(ToolEgress(proxy))
    clients: list[tuple[str, Callable[[str | None, bool], list[str]]]] = []
    if shutil.which("curl"):
        clients.append(("curl", lambda p, t: curl(url, p, t)))
    if shutil.which("aria2c"):
        clients.append(("aria2c", lambda p, t: aria2(url, p, t, folder)))
    if not clients:
        clients.append(("python", lambda p, t: python_reader(url, p, t)))
    for name, build in clients:
        for tunnel in (False, True):
            direct, guarded, isolated = [], [], []
            for _ in range(rounds):  # interleaved, so that all see the same machine
                direct.append(timed(build(None, tunnel), env_direct)[0])
                guarded.append(timed(build(proxy, tunnel), env_proxied)[0])
                if isolation_available() is None:
                    isolated.append(timed_isolated(build(proxy, tunnel), handle, proxy))
            d, g = statistics.median(direct), statistics.median(guarded)
            via = "CONNECT" if tunnel else "plain"
            print(f"  {name:7} {via:8} direct {d:6.3f} s ({size / MB / d:5.0f} MB/s)   guarded {g:6.3f} s "
                  f"({size / MB / g:5.0f} MB/s)   slowdown {100 * (g / d - 1):+5.1f} %")  # fmt: skip
            if isolated:
                i = statistics.median(isolated)
                print(f"  {'':16} guarded + network namespace {i:6.3f} s ({size / MB / i:5.0f} MB/s)   "
                      f"slowdown {100 * (i / d - 1):+5.1f} %")  # fmt: skip


SMALL_REQUESTS = 300
_SMALL_CLIENT = """
import base64, http.client, sys, time
host, port, path, auth, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
target, headers = sys.argv[6], {"Proxy-Authorization": "Basic " + auth} if auth else {}
start = time.perf_counter()
for _ in range(count):  # a new connection for each request, as the guard forwards plain http
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", target, headers=headers)
    connection.getresponse().read()
    connection.close()
print((time.perf_counter() - start) / count)
"""


def small_request_figures(handle: EgressProxyThread, origin_port: int, rounds: int) -> None:
    """The time the guard adds to one small request that opens a new connection."""
    credentials = handle.proxy.url_for("bench").split("//", 1)[1].split("@", 1)[0]
    auth = base64.b64encode(credentials.encode()).decode()
    url = f"http://{ORIGIN_HOST}:{origin_port}/small.bin"

    def mean_seconds(host: str, port: int, target: str, auth: str) -> float:
        command = [sys.executable, "-c", _SMALL_CLIENT, host, str(port), "/small.bin", auth,
                   str(SMALL_REQUESTS), target]  # fmt: skip
        return float(subprocess.run(command, check=True, capture_output=True, text=True, timeout=120).stdout)

    direct, guarded = [], []
    for _ in range(rounds):
        direct.append(mean_seconds(ORIGIN_HOST, origin_port, "/small.bin", ""))
        guarded.append(mean_seconds("127.0.0.1", handle.proxy.port, url, auth))
    d, g = statistics.median(direct), statistics.median(guarded)
    print(f"  1 KB request, new connection each: direct {d * 1000:.2f} ms   guarded {g * 1000:.2f} ms   "
          f"added {(g - d) * 1000:.2f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve-origin", nargs=2, metavar=("FOLDER", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_origin:
        serve_origin(args.serve_origin[0], int(args.serve_origin[1]))
        return
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    size = args.size_mb * MB
    with tempfile.TemporaryDirectory(prefix="bench-egress-") as tmp:
        folder = Path(tmp)
        make_file(folder / "large.bin", size)
        (folder / "small.bin").write_bytes(os.urandom(1024))
        port = free_port(ORIGIN_HOST)
        origin = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.bench_egress", "--serve-origin", tmp, str(port)]
        )
        try:
            wait_for_port(ORIGIN_HOST, port)
            url = f"http://{ORIGIN_HOST}:{port}/large.bin"
            client = curl if shutil.which("curl") else python_reader
            print(
                f"egress relay, {args.size_mb} MB per transfer, median of {args.rounds}, {os.cpu_count()} cores"
            )
            for mode in RelayMode:
                if mode is not RelayMode.ASYNCIO and not hasattr(os, "splice"):
                    continue
                print(f"relay mode {mode.value}{' (default)' if mode is RelayMode.default() else ''}:")
                policy = EgressPolicy([f"{ORIGIN_HOST}/32"])
                with EgressProxy(policy, relay_mode=mode).run_in_thread() as handle:
                    relay_figures(handle, url, size, args.rounds, client)
            print(f"real downloads with and without the guard (relay mode {RelayMode.default().value}):")
            guard = EgressProxy(EgressPolicy([f"{ORIGIN_HOST}/32"]), unix_path=f"{tmp}/guard.sock")
            with guard.run_in_thread() as handle:
                download_figures(handle, url, size, args.rounds, folder)
                small_request_figures(handle, port, args.rounds)
        finally:
            origin.terminate()
            origin.wait(timeout=15)


if __name__ == "__main__":
    main()
