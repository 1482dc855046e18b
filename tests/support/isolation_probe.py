"""What a job's isolation does, tried for real: raw connections and a guarded download from inside.

The functions run in a fresh interpreter (a forked pytest would carry gRPC's threads). Run as a
module, it reports them for whoever runs it, which is how the tests try an ordinary user of the
machine (tests/support/ordinary_user.py):

    python -m tests.support.isolation_probe REQUEST.json RESULT.json

REQUEST holds `targets` (host, port pairs to connect to), `downloads` (url, kind) and `folder`
(a folder this user may write to); RESULT gets plain data, for the test to judge.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from haul.contract.events import JobSpec
from worker.download import DownloadJob
from worker.egress.netns import enter_isolated_network, isolation_available
from worker.egress.policy import EgressPolicy
from worker.egress.proxy import EgressProxy, EgressProxyThread
from worker.engines.base import DownloadFailed
from worker.isolation import IsolatedDownload, describe_layers
from worker.samples import Sample
from worker.tools import find_tools


def connects(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return False
    return True


def reachable(targets: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return [(host, port) for host, port in targets if connects(host, port)]


def forked_isolated(function: Callable[..., Any], *args: Any) -> Any:
    """`function(*args)` run in a forked child inside an isolated network namespace; its result."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - reports through the pipe
        os.close(read)
        try:
            enter_isolated_network()
            result: Any = function(*args)
        except BaseException as exc:
            result = f"raised {exc!r}"
        with os.fdopen(write, "wb") as out:
            pickle.dump(result, out)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as source:
        data = source.read()
    os.waitpid(pid, 0)
    return pickle.loads(data)


def exit_code(command: list[str]) -> int:
    return subprocess.run(command, timeout=60, capture_output=True).returncode


def run_isolated(url: str, kind: str, allowed: list[str], folder: Path) -> dict[str, Any]:
    """A real download in the isolated child behind a real guard; what came of it, in plain data.
    The guard listens on a Unix socket, the child's tools reach it through the bridge."""
    child, reason = IsolatedDownload.fork()
    assert child is not None, reason
    socket_dir = tempfile.mkdtemp(prefix="haul-egress-")
    policy = EgressPolicy(allowed, [80, 443, *range(1024, 65536)])
    proxy = EgressProxy(policy, unix_path=f"{socket_dir}/guard.sock")
    job = DownloadJob(JobSpec(url=url, type=kind), folder / "job", find_tools(), 2, 1 << 30, folder / "aria2")
    samples: list[Sample] = []
    outcome: dict[str, Any] = {}
    try:
        with child, EgressProxyThread(proxy):
            try:
                done = child.run(job, proxy.tool_egress("job-1"), samples.append)
                outcome["sha256"] = hashlib.sha256(done.path.read_bytes()).hexdigest()
            except DownloadFailed as failure:
                outcome["failed"] = failure.code
    finally:
        shutil.rmtree(socket_dir, ignore_errors=True)
    return {
        **outcome,
        "samples": len(samples),
        "allowed": proxy.stats.allowed,
        "refused": proxy.stats.refused,
    }


def probe(request: dict[str, Any]) -> dict[str, Any]:
    """Everything the request asks, in order: the layers this user gets, the targets it reaches
    outside and inside the namespace, an aria2c that ignores any proxy, then the guarded downloads."""
    targets = [(host, port) for host, port in request["targets"]]
    folder = Path(request["folder"])
    report: dict[str, Any] = {
        "uid": os.geteuid(),
        "gid": os.getegid(),
        "available": isolation_available(),
        "layers": describe_layers(True, "auto"),
        "outside": reachable(targets),
        "inside": forked_isolated(reachable, targets),
    }
    aria2c = find_tools().aria2c
    if aria2c and request.get("direct_url"):
        direct = [aria2c, "--no-conf", "--quiet", "--max-tries=1", "--connect-timeout=2",
                  "-d", str(folder / "direct"), request["direct_url"]]  # fmt: skip
        report["direct_aria2c_inside"] = forked_isolated(exit_code, direct)
    report["downloads"] = []
    for index, (url, kind) in enumerate(request["downloads"]):
        # The isolated child is forked from a process with a single thread, as in a work horse.
        report["downloads"].append(
            {
                "threads": threading.active_count(),
                **run_isolated(url, kind, ["127.0.0.0/8"], folder / str(index)),
            }
        )
    return report


def main(arguments: list[str]) -> None:
    request_path, result_path = arguments
    request = json.loads(Path(request_path).read_text())
    Path(result_path).write_text(json.dumps(probe(request)))


if __name__ == "__main__":
    main(sys.argv[1:])
