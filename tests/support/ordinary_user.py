"""Run haul's Python as an ordinary user of this machine, the way a person's `make run` runs it.

The suite usually runs as root (CI does), which takes paths a worker of uid 10001 or a person
never takes. As root, `OrdinaryUser` runs a command with `runuser` as an existing Debian
account; run as anyone else, it runs the command as that user itself.

The account is `daemon` (uid 1), not `nobody`: 65534 is also the kernel's overflow id, the id a
process reads in a user namespace before its maps are written, so `nobody` would hide exactly
the mistake of reading the ids too late.

The interpreter must be one the user may execute: this virtualenv's, unless its base lives where
only root may read (pyenv under /root, say), then the system's interpreter of the same version,
given the virtualenv's packages and this checkout on PYTHONPATH (`-S`: nothing else). When the
checkout (and so the virtualenv in it) lies where only root may search (a clone under /root),
root runs the user's command in a private mount namespace where both are bind-mounted into the
user's own temporary folder: the user then reads them at a path it may reach, as itself.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
USER = "daemon"
OVERFLOW_ID = Path("/proc/sys/kernel/overflowuid")

# As root: start a user namespace whose max_user_namespaces is 0, map every id through
# unchanged (the parent writes the maps), then become uid/gid argv[1:3] and exec argv[3:].
FORBIDDING_HELPER = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000) != 0:
    raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUSER)")
print("ready", flush=True)
sys.stdin.readline()
with open("/proc/sys/user/max_user_namespaces", "w") as limit:
    limit.write("0")
os.setgroups([])
os.setgid(int(sys.argv[2]))
os.setuid(int(sys.argv[1]))
os.execve(sys.argv[3], sys.argv[3:], dict(os.environ))
"""


class OrdinaryUser:
    def __init__(self, name: str = USER) -> None:
        self.as_root = os.geteuid() == 0
        entry = pwd.getpwnam(name) if self.as_root else pwd.getpwuid(os.geteuid())
        self.name, self.uid, self.gid = entry.pw_name, entry.pw_uid, entry.pw_gid
        self.folder = Path(tempfile.mkdtemp(prefix="haul-ordinary-user-"))
        if self.as_root:
            os.chown(self.folder, self.uid, self.gid)
        self.bound = False
        self.python = self._interpreter()

    @property
    def env(self) -> dict[str, str]:
        packages = dict.fromkeys(self._visible(Path(p)) for p in self._sources())
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.folder),
            "TMPDIR": str(self.folder),
            "LANG": "C.UTF-8",
            "PYTHONPATH": os.pathsep.join(packages),
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def command(self, arguments: list[str]) -> list[str]:
        if not self.as_root:
            return arguments
        return [*self.mounts(), "runuser", "-u", self.name, "--", *arguments]

    @staticmethod
    def _sources() -> list[str]:
        """The folders the user's Python imports from: this checkout and the virtualenv's packages."""
        return list(dict.fromkeys([str(REPO), sysconfig.get_path("purelib"), sysconfig.get_path("platlib")]))

    def _visible(self, path: Path) -> str:
        """Where the user finds `path`: itself, or its bind mount when the checkout is out of reach."""
        if not self.bound:
            return str(path)
        return str(self.folder / "bound" / str(self._sources().index(str(path))))

    def mounts(self) -> list[str]:
        """A prefix that runs a command in a private mount namespace with the sources bind-mounted
        where the user can reach them (empty when they are reachable as they are)."""
        if not self.bound:
            return []
        pairs: list[str] = []
        for source in self._sources():
            target = Path(self._visible(Path(source)))
            target.mkdir(parents=True, exist_ok=True)
            pairs += [source, str(target)]
        script = 'while [ "$1" != -- ]; do mount --bind "$1" "$2" || exit 1; shift 2; done; shift; exec "$@"'
        unshare = ["unshare", "--mount", "--propagation", "private", "--"]
        return [*unshare, "sh", "-c", script, "sh", *pairs, "--"]

    def python_command(self, arguments: list[str]) -> list[str]:
        return [self.python, "-S", *arguments]

    def run_python(self, arguments: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(self.python_command(arguments)),
            cwd=self.folder, env=self.env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def run_python_without_user_namespaces(
        self, arguments: list[str], timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """`run_python` where the sysctl user.max_user_namespaces is 0 (in a user namespace of
        its own: the machine's setting stays as it is). Needs root."""
        assert self.as_root, "only root can map a user namespace's ids to another account"
        python = self.python_command(arguments)
        helper = subprocess.Popen(
            [*self.mounts(), sys.executable, "-S", "-c", FORBIDDING_HELPER, str(self.uid), str(self.gid), *python],
            cwd=self.folder, env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert helper.stdout is not None and helper.stdin is not None
            if helper.stdout.readline().strip() == "ready":
                for kind in ("uid_map", "gid_map"):
                    Path(f"/proc/{helper.pid}/{kind}").write_text("0 0 4294967295")
                helper.stdin.write("\n")
                helper.stdin.flush()
            out, err = helper.communicate(timeout=timeout)
        finally:
            if helper.poll() is None:
                helper.kill()
                helper.wait()
        return subprocess.CompletedProcess(helper.args, helper.returncode, out, err)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _interpreter(self) -> str:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        candidates = dict.fromkeys(
            c for c in (sys.executable, shutil.which(version, path="/usr/local/bin:/usr/bin")) if c
        )
        check = ["-S", "-c", "import sys, yt_dlp, worker; print(sys.version_info[:2])"]
        for bound in (False, True) if self.as_root else (False,):
            self.bound = bound
            found = self._first_working(candidates, check)
            if found is not None:
                return found
        raise RuntimeError(
            f"no Python {sys.version_info.major}.{sys.version_info.minor} that user {self.name} may run "
            f"with this virtualenv's packages (tried {', '.join(candidates)}): "
            f"the virtualenv and this checkout must be readable by other users"
        )

    def _first_working(self, candidates: dict[str, None], check: list[str]) -> str | None:
        for candidate in candidates:
            try:
                done = subprocess.run(
                    self.command([candidate, *check]),
                    cwd=self.folder, env=self.env, capture_output=True, text=True, timeout=60,
                )  # fmt: skip
            except OSError:
                continue
            if done.returncode == 0 and done.stdout.strip() == str(sys.version_info[:2]):
                return candidate
        return None


def overflow_id() -> int:
    return int(OVERFLOW_ID.read_text())
