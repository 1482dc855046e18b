"""`make test-deploy`: haul's image and deploy/compose.yaml, run for real on a Docker engine.

From nothing on a Debian machine (as root, where apt-get works), it:

1. installs Debian's docker.io and debootstrap if missing, and starts dockerd if none answers
   (its log: var/test-deploy/dockerd.log; it is left running);
2. builds stand-ins for the Hub's base images from Debian packages (debootstrap, `docker
   import`, then tests/deploy/bases/*.Dockerfile), tagged `haul-standin/...`, and keeps them:
   an image whose tag exists with the same recipe is not built again;
3. builds haul's image from the real Dockerfile (the `# syntax` line stripped, so BuildKit uses
   its built-in front-end offline) with build args choosing the stand-in bases;
4. starts deploy/compose.yaml with deploy/compose.netns.yaml and tests/deploy/compose.test.yaml
   (stand-ins, a media origin, the egress allowlist, per-run secrets, a random loopback port)
   and waits for every healthcheck;
5. downloads an mp4 (yt-dlp), an HLS stream and a 64 MiB file (aria2) over REST and fetches
   each back, comparing sha256;
6. SIGKILLs the main process of the worker container running the 64 MiB download, then of the
   gateway, then of jobstore, as a crash would (`docker kill` is a manual stop to Docker, which
   then restarts nothing); Docker restarts each (restart: unless-stopped), a worker resumes the
   download, and every job ends in one terminal state with its file written once;
7. checks /health (the workers' egress layers among it), /metrics and the UI's caching headers
   through the published port;
8. runs `docker compose down -v` and checks no container, volume or network of the run is left.

Every step prints its time; the run ends with each case's result and `N passed, N failed`, and
exits 1 when anything failed. When Docker cannot run here, it says so and fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import compose

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BASES = HERE / "bases"
STATE = ROOT / "var" / "test-deploy"
# Debian's client: /usr/local/bin/docker may be another one (without buildx BuildKit falls back).
DOCKER = "/usr/bin/docker"
COMPOSE = Path(compose.__file__).parent / "docker-compose"  # its console wrapper always exits 0
MIRROR = os.environ.get("HAUL_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
HAUL_IMAGE = "haul:test-deploy"
ORIGIN = "http://origin:8000"
BIG = 64 * 1024 * 1024
# Per connection; aria2 opens several, so the 64 MiB file takes long enough to kill things under it.
SLOW_RATE = 400 * 1024
TERMINAL = {"completed", "failed", "cancelled"}


@dataclass(frozen=True)
class Base:
    """A stand-in for one of the Hub's images: a Debian suite plus a small Dockerfile."""

    tag: str
    suite: str
    recipe: str  # the file in tests/deploy/bases
    extra: tuple[str, ...] = ()  # more files the build copies

    def digest(self) -> str:
        text = hashlib.sha256()
        for name in (self.recipe, *self.extra):
            text.update((BASES / name).read_bytes())
        text.update(f"{self.suite} {ROOTFS_RECIPE}".encode())
        return text.hexdigest()[:16]


DEBIAN = {suite: f"haul-standin/debian:{suite}" for suite in ("bookworm", "trixie")}
BASE_IMAGES = {
    "python": Base("haul-standin/python:3.11-slim", "bookworm", "python.Dockerfile"),
    # trixie: Node 20.19 with npm; bookworm's Node 18 is too old for the UI's tools.
    "node": Base("haul-standin/node:20-slim", "trixie", "node.Dockerfile"),
    "postgres": Base(
        "haul-standin/postgres:15", "bookworm", "postgres.Dockerfile", ("postgres-entrypoint.sh",)
    ),
    "redis": Base("haul-standin/redis:7", "bookworm", "redis.Dockerfile", ("redis-entrypoint.sh",)),
}
DIGEST_LABEL = "org.haul.standin.recipe"


class Failed(Exception):
    """A check failed; the message says what was seen."""


# --- reporting -----------------------------------------------------------------------------------


@dataclass
class Report:
    started: float = field(default_factory=time.monotonic)
    cases: list[tuple[str, bool, str]] = field(default_factory=list)

    def elapsed(self) -> str:
        return f"[{time.monotonic() - self.started:6.1f}s]"

    def say(self, text: str) -> None:
        print(f"{self.elapsed()} {text}", flush=True)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.say(f"== {name}")
        began = time.monotonic()
        try:
            yield
        finally:
            self.say(f"== {name}: {time.monotonic() - began:.1f}s")

    def case(self, name: str, check: Callable[[], str | None]) -> bool:
        """Run one check; it raises Failed (or anything) to fail, or returns a detail."""
        began = time.monotonic()
        try:
            detail = check() or ""
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}" if not isinstance(exc, Failed) else str(exc)
            self.cases.append((name, False, detail))
            self.say(f"FAIL {name} ({time.monotonic() - began:.1f}s): {detail}")
            return False
        self.cases.append((name, True, detail))
        self.say(f"ok   {name} ({time.monotonic() - began:.1f}s){': ' + detail if detail else ''}")
        return True

    def not_run(self, names: list[str], why: str) -> None:
        for name in names:
            self.cases.append((name, False, f"not run: {why}"))

    def summary(self) -> int:
        print("\nresults:")
        for name, ok, detail in self.cases:
            print(f"  {'PASS' if ok else 'FAIL'}  {name}{'  - ' + detail if detail and not ok else ''}")
        passed = sum(ok for _, ok, _ in self.cases)
        failed = len(self.cases) - passed
        print(f"{passed} passed, {failed} failed (total {time.monotonic() - self.started:.0f}s)")
        return 1 if failed or not self.cases else 0


def run(args: list[str | Path], *, check: bool = True, timeout: float = 600, **kw: Any) -> str:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, check=False, **kw
    )
    if check and result.returncode != 0:
        tail = (result.stderr or result.stdout).strip()[-3000:]
        raise Failed(f"`{' '.join(str(a) for a in args[:4])} ...` exited {result.returncode}: {tail}")
    return str(result.stdout)


def docker(*args: str | Path, check: bool = True, timeout: float = 600) -> str:
    return run([DOCKER, *args], check=check, timeout=timeout)


def until(what: str, probe: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    """Call `probe` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except (OSError, Failed, ValueError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise Failed(f"{what}: not within {timeout:.0f}s (last: {last!r})"[:1500])


# --- step 1: the engine --------------------------------------------------------------------------


def docker_answers() -> bool:
    return (
        Path(DOCKER).exists()
        and subprocess.run([DOCKER, "info"], capture_output=True, timeout=30, check=False).returncode == 0
    )


def ensure_engine(report: Report) -> str:
    missing = [
        pkg
        for pkg, path in (("docker.io", DOCKER), ("debootstrap", "/usr/sbin/debootstrap"))
        if not Path(path).exists()
    ]
    if missing:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            raise Failed(
                f"Docker cannot run here: {', '.join(missing)} missing, and installing needs root and apt-get"
            )
        report.say(f"installing Debian packages: {' '.join(missing)}")
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update", "-q"], env=env, timeout=900)
        run(
            [
                "apt-get",
                "install",
                "-y",
                "-q",
                "--no-install-recommends",
                *missing,
                "iptables",
                "ca-certificates",
            ],
            env=env,
            timeout=900,
        )
    if docker_answers():
        return "dockerd was already running"
    if os.geteuid() != 0:
        raise Failed("Docker cannot run here: no dockerd answers and starting one needs root")
    STATE.mkdir(parents=True, exist_ok=True)
    log = STATE / "dockerd.log"
    with open(log, "ab") as out:
        subprocess.Popen(["dockerd"], stdout=out, stderr=out, start_new_session=True)
    try:
        until("dockerd to answer", docker_answers, timeout=60, interval=1)
    except Failed as exc:
        tail = log.read_text(errors="replace")[-2000:]
        raise Failed(
            f"Docker cannot run here: dockerd did not start ({exc}); {log} ends with:\n{tail}"
        ) from exc
    return f"started dockerd (log {log.relative_to(ROOT)})"


# --- step 2: stand-in base images ------------------------------------------------------------------


def image_label(tag: str, label: str) -> str | None:
    out = docker("image", "inspect", "-f", f'{{{{index .Config.Labels "{label}"}}}}', tag, check=False)
    return out.strip() or None if out else None


# Like Debian's official -slim images: no downloaded packages, package lists, documentation,
# manual pages or translations, now or in what later layers install.
DPKG_SLIM = """path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-exclude=/usr/share/lintian/*
"""
ROOTFS_RECIPE = hashlib.sha256(DPKG_SLIM.encode()).hexdigest()[:16]


def slim_root(root: Path) -> None:
    (root / "etc/dpkg/dpkg.cfg.d/slim").write_text(DPKG_SLIM)
    (root / "etc/apt/apt.conf.d/docker-clean").write_text(
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb || true"; };\n'
        'APT::Install-Recommends "false";\n'
    )
    for folder in (
        "var/cache/apt/archives",
        "var/lib/apt/lists",
        "usr/share/man",
        "usr/share/info",
        "usr/share/locale",
    ):
        for entry in (root / folder).glob("*"):
            if entry.is_file() or entry.is_symlink():
                entry.unlink()
            elif entry.is_dir() and entry.name != "partial":
                shutil.rmtree(entry)
    for doc in (root / "usr/share/doc").rglob("*"):
        if (doc.is_file() or doc.is_symlink()) and doc.name != "copyright":
            doc.unlink()


def debian_image(suite: str, report: Report) -> None:
    tag = DEBIAN[suite]
    if image_label(tag, DIGEST_LABEL) == ROOTFS_RECIPE:
        return
    root = Path(tempfile.mkdtemp(prefix=f"rootfs-{suite}-", dir=STATE))
    try:
        report.say(f"debootstrap --variant=minbase {suite} (from {MIRROR})")
        run(["debootstrap", "--variant=minbase", suite, root, MIRROR], timeout=1200)
        slim_root(root)
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        imported = subprocess.run(
            [DOCKER, "import", "-c", 'CMD ["bash"]', "-c", f"LABEL {DIGEST_LABEL}={ROOTFS_RECIPE}", "-", tag],
            stdin=tar.stdout,
            capture_output=True,
            check=False,
        )
        tar.stdout.close()
        if tar.wait() != 0 or imported.returncode != 0:
            raise Failed(f"docker import of {suite} failed: {imported.stderr.decode(errors='replace')}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def build_bases(report: Report) -> str:
    STATE.mkdir(parents=True, exist_ok=True)
    stale = [base for base in BASE_IMAGES.values() if image_label(base.tag, DIGEST_LABEL) != base.digest()]
    if not stale:
        return "all cached: " + ", ".join(base.tag for base in BASE_IMAGES.values())
    with tempfile.TemporaryDirectory(dir=STATE) as context, ThreadPoolExecutor(len(stale) + 2) as pool:
        # The machine may re-sign TLS: pip and npm inside the builds must trust what the host trusts.
        ca = Path(context, "ca")
        ca.mkdir()
        for cert in Path("/usr/local/share/ca-certificates").glob("**/*.crt"):
            shutil.copy(cert, ca / cert.name)
        for extra in BASES.glob("*.sh"):
            shutil.copy(extra, Path(context, extra.name))
        # Each base waits only for its own suite: node (on trixie) is the longest path.
        suites = {
            suite: pool.submit(debian_image, suite, report) for suite in sorted({b.suite for b in stale})
        }

        def build(base: Base) -> None:
            suites[base.suite].result()
            report.say(f"building {base.tag}")
            began = time.monotonic()
            docker(
                "build", "-q", "-t", base.tag, "--label", f"{DIGEST_LABEL}={base.digest()}",
                "--build-arg", f"DEBIAN_IMAGE={DEBIAN[base.suite]}", "-f", BASES / base.recipe, context,
                timeout=1200,
            )  # fmt: skip
            report.say(f"built {base.tag} in {time.monotonic() - began:.0f}s")

        for done in [pool.submit(build, base) for base in stale]:
            done.result()
    return "built " + ", ".join(base.tag for base in stale)


# --- step 3: haul's image ------------------------------------------------------------------------------


def build_haul_image(report: Report) -> str:
    source = (ROOT / "Dockerfile").read_text()
    offline = "".join(line for line in source.splitlines(keepends=True) if not line.startswith("# syntax="))
    with tempfile.NamedTemporaryFile("w", suffix=".Dockerfile", dir=STATE, delete=False) as file:
        file.write(offline)
    try:
        result = subprocess.run(
            [
                DOCKER, "build", "--progress=plain", "-f", file.name, "-t", HAUL_IMAGE,
                "--build-arg", f"NODE_IMAGE={BASE_IMAGES['node'].tag}",
                "--build-arg", f"PYTHON_IMAGE={BASE_IMAGES['python'].tag}",
                str(ROOT),
            ],
            capture_output=True, text=True, timeout=1500, check=False, env=os.environ | {"DOCKER_BUILDKIT": "1"},
        )  # fmt: skip
    finally:
        os.unlink(file.name)
    (STATE / "build.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise Failed(f"docker build failed (var/test-deploy/build.log):\n{result.stderr[-3000:]}")
    size = int(docker("image", "inspect", "-f", "{{.Size}}", HAUL_IMAGE).strip())
    cached = result.stderr.count(" CACHED")
    return f"{HAUL_IMAGE}: {size / 1e6:.0f} MB ({size} bytes), {cached} steps cached"


def check_image_contents() -> str:
    """The runtime image carries no compiler, no pip (cache or tool), no docs beyond copyright."""
    script = (
        "set -e; for tool in gcc cc g++ make pip pip3; do if command -v $tool; then exit 1; fi; done; "
        "test ! -e /root/.cache/pip; test ! -e /opt/haul/bin/pip; "
        'test -z "$(find /usr/share/doc -type f ! -name copyright | head -1)"; '
        'test -z "$(find /usr/share/man /usr/share/locale /usr/share/info -mindepth 1 | head -1)"; '
        'test -z "$(find /var/lib/apt/lists /var/cache/apt -type f ! -name lock | head -1)"; '
        "ffmpeg -version >/dev/null; aria2c --version >/dev/null; echo clean"
    )
    out = docker("run", "--rm", "--user", "0", "--entrypoint", "sh", HAUL_IMAGE, "-c", script, check=False)
    if out.strip() != "clean":
        raise Failed(f"the runtime image carries something it does not need: {out.strip()!r}")
    return "no compilers, pip, pip cache, docs, man pages or translations"


# --- step 4: the stack -----------------------------------------------------------------------------------


@dataclass
class Stack:
    project: str
    env: dict[str, str]
    port: int
    empty_env_file: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def compose(self, *args: str, check: bool = True, timeout: float = 600) -> str:
        files = [
            ROOT / "deploy" / "compose.yaml",
            ROOT / "deploy" / "compose.netns.yaml",
            HERE / "compose.test.yaml",
        ]
        command: list[str | Path] = [
            COMPOSE,
            "--project-name",
            self.project,
            "--env-file",
            self.empty_env_file,
        ]
        for path in files:
            command += ["-f", path]
        return run([*command, *args], check=check, timeout=timeout, env=self.env)

    def containers(self, service: str) -> list[str]:
        return self.compose("ps", "-q", service).split()

    def api(
        self, method: str, path: str, body: Any = None, *, token: bool = True, timeout: float = 10
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {self.env['HAUL_API_TOKEN']}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def json(self, method: str, path: str, body: Any = None) -> Any:
        status, _, payload = self.api(method, path, body)
        if status >= 300:
            raise Failed(f"{method} {path}: {status} {payload[:300]!r}")
        return json.loads(payload)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_subnet() -> str:
    """A /24 no Docker network and no host route uses, for the run's compose network."""
    used: list[ipaddress.IPv4Network] = []
    for line in run(["ip", "-4", "route"], check=False).splitlines():
        with contextlib.suppress(ValueError):
            used.append(ipaddress.IPv4Network(line.split()[0], strict=False))
    for network in docker("network", "ls", "-q").split():
        for subnet in re.findall(r'"Subnet":\s*"([0-9./]+)"', docker("network", "inspect", network)):
            with contextlib.suppress(ValueError):
                used.append(ipaddress.IPv4Network(subnet, strict=False))
    candidates = [ipaddress.IPv4Network(f"172.29.{n}.0/24") for n in range(256)]
    random.shuffle(candidates)
    for candidate in candidates:
        if not any(candidate.overlaps(other) for other in used if other.prefixlen > 0):
            return str(candidate)
    raise Failed("no free /24 in 172.29.0.0/16 for the compose network")


def new_stack() -> Stack:
    project = f"haul-test-{secrets.token_hex(3)}"
    port = free_port()
    empty = STATE / f"{project}.env"  # so a developer's deploy/.env cannot fill anything in
    empty.write_text("")
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "HOME": str(STATE),
        "DOCKER_HOST": os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"),
        "POSTGRES_PASSWORD": secrets.token_hex(24),
        "HAUL_SERVICE_TOKEN": secrets.token_hex(24),
        "HAUL_WORKER_TOKEN": secrets.token_hex(24),
        "HAUL_API_TOKEN": secrets.token_hex(24),
        "HAUL_IMAGE": HAUL_IMAGE,
        "HAUL_HTTP_PORT": str(port),
        "HAUL_TEST_POSTGRES_IMAGE": BASE_IMAGES["postgres"].tag,
        "HAUL_TEST_REDIS_IMAGE": BASE_IMAGES["redis"].tag,
        "HAUL_TEST_SUBNET": free_subnet(),
        "HAUL_TEST_TESTS_DIR": str(ROOT / "tests"),
        # The namespace layer where it can be made; the `netns` case checks that it was.
        "HAUL_EGRESS_NAMESPACE": "auto",
    }
    return Stack(project, env, port, empty)


def start_stack(stack: Stack) -> str:
    stack.compose("up", "-d", "--no-build", "--wait", "--wait-timeout", "240", timeout=300)
    states = stack.compose("ps", "--all", "--format", "json")
    rows = [json.loads(line) for line in states.splitlines() if line.strip().startswith("{")]
    if not rows and states.strip().startswith("["):
        rows = json.loads(states)
    unhealthy = [
        f"{row['Service']}: {row['State']} {row.get('Health', '')}"
        for row in rows
        if row["Service"] != "migrate"
        and (row["State"] != "running" or row.get("Health") not in ("healthy", ""))
    ]
    if unhealthy:
        raise Failed(f"not healthy: {unhealthy}")
    return f"project {stack.project}, {len(rows)} containers, http://127.0.0.1:{stack.port}"


def origin_digests(stack: Stack) -> dict[str, str]:
    logs = stack.compose("logs", "--no-log-prefix", "origin")
    return dict(re.findall(r"^sha256 (\S+) ([0-9a-f]{64})$", logs, re.MULTILINE))


# --- steps 5 and 6: downloads, and kills under them ---------------------------------------------------


def submit(stack: Stack, url: str, kind: str) -> str:
    accepted = stack.json("POST", "/downloads", {"url": url, "type": kind})
    return str(accepted["jobId"])


def job(stack: Stack, job_id: str) -> dict[str, Any]:
    detail: dict[str, Any] = stack.json("GET", f"/downloads/{job_id}")
    return detail


def wait_terminal(stack: Stack, job_id: str, timeout: float) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        detail = job(stack, job_id)
        return detail if detail["status"] in TERMINAL else None

    result: dict[str, Any] = until(f"job {job_id} to end", ended, timeout, interval=1)
    return result


def fetch_and_compare(stack: Stack, job_id: str, expected: str | None) -> str:
    detail = job(stack, job_id)
    if detail["status"] != "completed":
        raise Failed(f"status {detail['status']}: {detail.get('errorCode')} {detail.get('errorMessage')}")
    info = stack.json("GET", f"/files/{job_id}")
    status, _, body = stack.api("GET", f"/files/{job_id}/download", timeout=120)
    if status != 200:
        raise Failed(f"GET /files/{job_id}/download: {status}")
    digest = hashlib.sha256(body).hexdigest()
    if len(body) != info["size"] or digest != info["sha256"]:
        raise Failed(
            f"fetched {len(body)} bytes sha256 {digest}; the file record says {info['size']} {info['sha256']}"
        )
    if expected is not None and digest != expected:
        raise Failed(f"fetched sha256 {digest}, the origin's is {expected}")
    if detail.get("size") != len(body) or detail.get("downloadedBytes") != len(body):
        raise Failed(
            f"job says size {detail.get('size')}, downloadedBytes {detail.get('downloadedBytes')}; fetched {len(body)}"
        )
    return f"{info['filename']}: {len(body)} bytes, sha256 {digest[:16]}… matches"


def one_terminal_state(detail: dict[str, Any]) -> None:
    ends = [event for event in detail["history"] if event["to"] in TERMINAL]
    if detail["status"] != "completed" or len(ends) != 1:
        raise Failed(f"status {detail['status']}, terminal events {[(e['to'], e['actor']) for e in ends]}")


def container_logs(container: str) -> str:
    result = subprocess.run(
        [DOCKER, "logs", container], capture_output=True, text=True, timeout=60, check=False
    )
    return result.stdout + result.stderr


def container_ip(container: str) -> str:
    return docker(
        "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", container
    ).strip()


def restart_count(container: str) -> int:
    return int(docker("inspect", "-f", "{{.RestartCount}}", container).strip())


def is_running(container: str) -> bool:
    return docker("inspect", "-f", "{{.State.Running}}", container).strip() == "true"


def kill_and_wait_restart(container: str, healthy: Callable[[], Any], timeout: float = 90) -> float:
    """SIGKILL the container's main process, as a crash or the OOM killer would; Docker's restart
    policy (not this script) must bring it back. Returns the seconds until `healthy` said yes.

    Not `docker kill`: Docker counts that as a manual stop and never restarts the container
    (checked on 20.10), which is not what happens when a role dies in production."""
    before = restart_count(container)
    pid = int(docker("inspect", "-f", "{{.State.Pid}}", container).strip())
    if pid <= 0:
        raise Failed(f"{container[:12]} is not running")
    os.kill(pid, signal.SIGKILL)
    began = time.monotonic()
    until(
        f"Docker to restart {container[:12]}",
        lambda: restart_count(container) > before and is_running(container),
        timeout,
    )
    until(f"{container[:12]} to be healthy again", healthy, timeout)
    return time.monotonic() - began


def health_ok(stack: Stack) -> bool:
    status, _, _ = stack.api("GET", "/health", token=False, timeout=5)
    return status == 200


def container_healthy(container: str) -> bool:
    return docker("inspect", "-f", "{{.State.Health.Status}}", container, check=False).strip() == "healthy"


def claimed_by(detail: dict[str, Any]) -> str | None:
    """The worker id of the job's latest claim, from its history (`worker:<id>` moved it to running)."""
    claims = [
        e["actor"] for e in detail["history"] if e["to"] == "running" and e["actor"].startswith("worker:")
    ]
    # The actor is `worker:<id>#<digest of the claim secret>`.
    return claims[-1].removeprefix("worker:").split("#")[0] if claims else None


def worker_container(stack: Stack, worker_id: str) -> str:
    """The worker container whose log names `worker_id` (each logs its identity at start)."""
    for container in stack.containers("worker"):
        if worker_id in container_logs(container):
            return container
    raise Failed(f"no worker container logged the id {worker_id}")


def served(stack: Stack, path: str) -> int:
    [origin] = stack.containers("origin")
    with urllib.request.urlopen(f"http://{container_ip(origin)}:8000/served", timeout=5) as response:
        counts: dict[str, int] = json.loads(response.read())
    return counts.get(path, 0)


# --- the run -----------------------------------------------------------------------------------------


@dataclass
class Jobs:
    digests: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # case -> job id


def small_downloads(report: Report, stack: Stack, jobs: Jobs) -> None:
    jobs.digests = until("the origin to print its media digests", lambda: origin_digests(stack), 60)
    jobs.ids["mp4"] = submit(stack, f"{ORIGIN}/video.mp4", "video")
    jobs.ids["hls"] = submit(stack, f"{ORIGIN}/hls/index.m3u8", "video")
    for name in ("mp4", "hls"):
        with contextlib.suppress(Failed):
            wait_terminal(stack, jobs.ids[name], 120)
    report.case(
        "5a an mp4 through yt-dlp, fetched back with its sha256",
        lambda: fetch_and_compare(stack, jobs.ids["mp4"], jobs.digests["video.mp4"]),
    )

    def hls() -> str:
        detail = fetch_and_compare(stack, jobs.ids["hls"], None)
        status, _, body = stack.api("GET", f"/files/{jobs.ids['hls']}/download", timeout=60)
        if status != 200 or body[4:8] != b"ftyp":
            raise Failed(f"the HLS download is not an mp4 (ffmpeg's remux): starts {body[:12]!r}")
        return detail + " (segments joined into an mp4)"

    report.case("5b an HLS stream through yt-dlp and ffmpeg, fetched back with its sha256", hls)


def kills_under_the_big_download(report: Report, stack: Stack, jobs: Jobs) -> None:
    big = jobs.ids["big"] = submit(stack, f"{ORIGIN}/slow/big.bin?rate={SLOW_RATE}", "file")

    def running_with(min_bytes: int) -> Callable[[], dict[str, Any] | None]:
        def probe() -> dict[str, Any] | None:
            detail = job(stack, big)
            if detail["status"] in TERMINAL:
                raise Failed(
                    f"the 64 MiB job ended too soon: {detail['status']} {detail.get('errorMessage')}"
                )
            return (
                detail if detail["status"] == "running" and detail["downloadedBytes"] >= min_bytes else None
            )

        return probe

    def kill_worker() -> str:
        detail = until("the 64 MiB download to be under way", running_with(6 * 1024 * 1024), 90)
        first = claimed_by(detail)
        if first is None:
            raise Failed(f"no worker claim in the history: {detail['history']}")
        container, attempt = worker_container(stack, first), detail["attempt"]
        before = served(stack, "/slow/big.bin")
        took = kill_and_wait_restart(container, lambda: container_healthy(container))

        def claimed_again() -> dict[str, Any] | None:
            detail = running_with(0)()
            return detail if detail and detail["attempt"] > attempt else None

        again = until("the job to be claimed again after the worker died", claimed_again, 120)
        return (
            f"killed worker {first} at {detail['downloadedBytes']} bytes ({before} served); Docker restarted "
            f"the container in {took:.1f}s; attempt {again['attempt']} by {claimed_by(again)}"
        )

    def kill_role(service: str, ready: Callable[[], bool]) -> Callable[[], str]:
        def check() -> str:
            at_kill = until("the 64 MiB download to be running", running_with(1024 * 1024), 120)[
                "downloadedBytes"
            ]
            [container] = stack.containers(service)
            took = kill_and_wait_restart(container, ready)

            def moved_on() -> dict[str, Any] | None:
                detail = job(stack, big)
                return (
                    detail if detail["status"] == "completed" or detail["downloadedBytes"] > at_kill else None
                )

            after = until(f"the job's progress to reach REST again after {service} came back", moved_on, 60)
            return (
                f"Docker restarted {service}, ready in {took:.1f}s; the job went on from {at_kill} to "
                f"{after['downloadedBytes']} bytes ({after['status']})"
            )

        return check

    ok = report.case(
        "6a SIGKILL the worker container under the 64 MiB download; a worker resumes it", kill_worker
    )
    ok = ok and report.case("6b SIGKILL the gateway under it", kill_role("gateway", lambda: health_ok(stack)))
    ok = ok and report.case(
        "6c SIGKILL jobstore under it",
        kill_role(
            "jobstore", lambda: container_healthy(stack.containers("jobstore")[0]) and health_ok(stack)
        ),
    )
    with contextlib.suppress(Failed):
        wait_terminal(stack, big, 300)
    report.case(
        "5c a 64 MiB file through aria2, fetched back with its sha256",
        lambda: fetch_and_compare(stack, big, jobs.digests["big.bin"]),
    )

    def written_once() -> str:
        for name, job_id in jobs.ids.items():
            detail = job(stack, job_id)
            try:
                one_terminal_state(detail)
            except Failed as exc:
                raise Failed(f"{name}: {exc}") from exc
        listing = stack.compose(
            "exec", "-T", "gateway", "find", "/var/lib/haul/data", "/var/lib/haul/tmp", "-type", "f"
        )
        files = [line for line in listing.splitlines() if line.strip()]
        for name, job_id in jobs.ids.items():
            mine = [path for path in files if job_id in path]
            finished = [path for path in mine if path.startswith("/var/lib/haul/data/")]
            if len(finished) != 1 or len(mine) != 1:
                raise Failed(f"{name}: files of the job on the volume: {mine}")
        sent = served(stack, "/slow/big.bin")
        if sent > BIG * 5 // 4:
            raise Failed(f"the origin sent {sent} bytes of the 64 MiB file: the download started over")
        attempts = job(stack, big)["attempt"]
        return f"1 completed event and 1 file each; the 64 MiB file took {attempts} attempts and {sent} bytes from the origin"

    report.case(
        "6d every job ends once, and each file is written once (history, volume, origin)", written_once
    )


def checks_through_the_port(report: Report, stack: Stack) -> None:
    def health() -> str:
        status, _, body = stack.api("GET", "/health", token=False)
        report_ = json.loads(body)
        if status != 200:
            raise Failed(f"/health {status}: {report_}")
        return f"200, {json.dumps(report_)[:200]}…"

    def metrics() -> str:
        status, headers, body = stack.api("GET", "/metrics")
        text = body.decode()
        names = set(re.findall(r"^(haul_[a-z_]+)", text, re.MULTILINE))
        if status != 200 or not names or "text/plain" not in headers.get("Content-Type", ""):
            raise Failed(
                f"/metrics {status}, {headers.get('Content-Type')}, haul metrics {sorted(names)[:5]}"
            )
        return f"200, {len(names)} haul_* series"

    def ui_caching() -> str:
        status, headers, body = stack.api("GET", "/", token=False)
        page_cache = headers.get("Cache-Control")
        assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', body.decode())
        if status != 200 or page_cache != "no-cache" or not assets:
            raise Failed(f"/ {status} Cache-Control {page_cache!r}, assets {assets}")
        for asset in assets:
            status, headers, _ = stack.api("GET", asset, token=False)
            if status != 200 or headers.get("Cache-Control") != "public, max-age=31536000, immutable":
                raise Failed(f"{asset}: {status} Cache-Control {headers.get('Cache-Control')!r}")
        return (
            f"/ no-cache; {len(assets)} hashed assets public, max-age=31536000, immutable (as under make run)"
        )

    report.case("7a /health through the published port", health)
    report.case("7b /metrics through the published port", metrics)
    report.case("7c the UI's caching headers from the container", ui_caching)


NETNS_PROBE = """
import socket, sys
from worker.egress.netns import enter_isolated_network
target = (sys.argv[1], 8000)
socket.create_connection(target, timeout=5).close()  # the container's own network reaches it
enter_isolated_network()
try:
    socket.create_connection(target, timeout=5).close()
except OSError as exc:
    print("refused:", exc)
else:
    print("CONNECTED")
"""


def egress_reports(stack: Stack) -> list[str]:
    """What the workers connected to the gateway report about their egress layers (`/health`)."""
    _, _, body = stack.api("GET", "/health", token=False)
    reports: list[str] = (
        json.loads(body).get("checks", {}).get("aria2", {}).get("tools", {}).get("egress", [])
    )
    return reports


def namespace_in_container(report: Report, stack: Stack) -> None:
    def check() -> str:
        # A worker says hello to the gateway (and shows in /health) while it runs a job.
        job_id = submit(stack, f"{ORIGIN}/slow/video.mp4?rate=16384", "file")
        seen = set(until("a running worker in /health", lambda: egress_reports(stack), 60))
        ended = wait_terminal(stack, job_id, 120)
        if seen != {"proxy + network namespace"} or ended["status"] != "completed":
            raise Failed(
                f"/health egress {sorted(seen)}, the job {ended['status']} (with seccomp=unconfined from "
                "deploy/compose.netns.yaml)"
            )
        [worker, *_] = stack.containers("worker")
        [origin] = stack.containers("origin")
        out = docker("exec", worker, "python", "-c", NETNS_PROBE, container_ip(origin), check=False)
        if not out.startswith("refused:"):
            raise Failed(f"a direct connection from the namespace: {out.strip()!r}")
        return f"/health: proxy + network namespace, a job completed in it; a direct connection from it: {out.strip()}"

    report.case("7d a worker container with seccomp=unconfined runs jobs in a network namespace", check)


def take_down(stack: Stack) -> str:
    stack.compose("down", "-v", "--remove-orphans", "--timeout", "10", timeout=180)
    label = f"label=com.docker.compose.project={stack.project}"
    left = {
        kind: docker(kind, "ls", *(["-a"] if kind == "container" else []), "-q", "--filter", label).split()
        for kind in ("container", "volume", "network")
    }
    stack.empty_env_file.unlink(missing_ok=True)
    if any(left.values()):
        raise Failed(f"left behind: {left}")
    return "no container, volume or network of the run is left"


def main() -> int:
    report = Report()
    steps = [
        "2 stand-in base images", "3 haul's image builds", "3 the image carries only the runtime",
        "4 compose stack healthy", "5a an mp4 through yt-dlp, fetched back with its sha256",
        "5b an HLS stream through yt-dlp and ffmpeg, fetched back with its sha256",
        "6a SIGKILL the worker container under the 64 MiB download; a worker resumes it",
        "6b SIGKILL the gateway under it", "6c SIGKILL jobstore under it",
        "5c a 64 MiB file through aria2, fetched back with its sha256",
        "6d every job ends once, and each file is written once (history, volume, origin)",
        "7a /health through the published port", "7b /metrics through the published port",
        "7c the UI's caching headers from the container",
        "7d a worker container with seccomp=unconfined runs jobs in a network namespace",
        "8 docker compose down -v leaves nothing",
    ]  # fmt: skip
    STATE.mkdir(parents=True, exist_ok=True)
    os.environ["DOCKER_BUILDKIT"] = "1"  # RUN --mount and COPY --chmod, with the built-in front-end
    with report.step("step 1: the Docker engine"):
        if not report.case("1 Docker engine answers", lambda: ensure_engine(report)):
            report.say("Docker cannot run on this machine, so the deployment is NOT proven: failing.")
            report.not_run(steps, "no Docker engine")
            return report.summary()
    with report.step("step 2: stand-in base images (offline, from Debian packages)"):
        if not report.case(steps[0], lambda: build_bases(report)):
            report.not_run(steps[1:], "no base images")
            return report.summary()
    with report.step("step 3: haul's image from the real Dockerfile"):
        if not report.case(steps[1], lambda: build_haul_image(report)):
            report.not_run(steps[2:], "no image")
            return report.summary()
        report.case(steps[2], check_image_contents)
    stack = new_stack()
    try:
        with report.step("step 4: compose up, every healthcheck passing"):
            up = report.case(steps[3], lambda: start_stack(stack))
        if up:
            jobs = Jobs()
            with report.step("step 5: an mp4 and an HLS stream over REST"):
                small_downloads(report, stack, jobs)
            with report.step("step 6: a 64 MiB download, with worker, gateway and jobstore killed under it"):
                if "big.bin" in jobs.digests:
                    kills_under_the_big_download(report, stack, jobs)
                else:
                    report.not_run(steps[6:11], "the origin gave no digests")
            with report.step(
                "step 7: /health, /metrics, the UI and the namespace through the published port"
            ):
                checks_through_the_port(report, stack)
                namespace_in_container(report, stack)
        else:
            with contextlib.suppress(Failed, subprocess.TimeoutExpired):
                print(stack.compose("ps", "--all", check=False))
                print(stack.compose("logs", "--tail", "30", check=False)[-6000:])
            report.not_run(steps[4:15], "the stack did not come up")
    finally:
        with report.step("step 8: compose down -v"):
            report.case(steps[15], lambda: take_down(stack))
    return report.summary()


if __name__ == "__main__":
    sys.exit(main())
