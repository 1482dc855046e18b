"""Run a service with its own /etc/hosts: `python -m tests.support.hosts_namespace`.

The test names a hosts file in HAUL_TEST_HOSTS_FILE and the service's module in
HAUL_TEST_HOSTS_MODULE (`worker` by default); the process enters a new mount namespace
(`unshare --mount`, which makes its mounts private), binds that file over /etc/hosts there, and
becomes `python -m MODULE` with the same pid. So the service's real resolver (glibc, reading
/etc/hosts) answers a public-looking name with whatever address the test chose, while the rest
of the machine is untouched. Needs root (or CAP_SYS_ADMIN); `available()` says whether it works.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

HOSTS_FILE_ENV = "HAUL_TEST_HOSTS_FILE"
MODULE_ENV = "HAUL_TEST_HOSTS_MODULE"
SCRIPT = 'mount --bind "$0" /etc/hosts && exec "$1" -m "$2"'


def available() -> str | None:
    """None when a bind-mounted /etc/hosts works here, else why not."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return "unshare or mount is missing"
    try:
        probe = subprocess.run(
            ["unshare", "--mount", "sh", "-c", 'mount --bind /etc/hosts /etc/hosts && echo ok'],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare --mount failed: {exc}"
    if probe.stdout.strip() != "ok":
        return f"unshare --mount failed: {probe.stderr.strip()[:200]}"
    return None


def main() -> None:
    hosts, module = os.environ[HOSTS_FILE_ENV], os.environ.get(MODULE_ENV, "worker")
    os.execvp("unshare", ["unshare", "--mount", "sh", "-c", SCRIPT, hosts, sys.executable, module])


if __name__ == "__main__":
    main()
