"""A network namespace with only loopback: defence in depth behind the egress proxy.

A process that calls `enter_isolated_network()` can no longer reach any address of the
machine or the internet: its namespace has a `lo` of its own and nothing else. The job's tools
run in such a process, and their only way out is a Unix socket (a filesystem path, which no
network namespace hides) on which the job's egress proxy listens. So even a tool that ignored
its proxy setting would find nothing to connect to.

As root, `unshare(CLONE_NEWNET)` is enough. Otherwise (or for a root without CAP_SYS_ADMIN, as
in a container) a user namespace comes first: its owner holds every capability inside it,
CAP_NET_ADMIN over the network namespace created with it included. The kernel allows that only
to a single-threaded process, so enter the namespace right after a fork. The process keeps its
own uid and gid inside (read before the unshare: after it, until the maps are written, they read
as the overflow id, 65534); the tools it starts run there without any capability.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import socket
import struct
from functools import cache
from pathlib import Path

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
PROC = Path("/proc")


class IsolationUnavailable(OSError):
    """This platform (kernel settings, seccomp, a container) does not allow the namespace."""


def _unshare(flags: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(flags) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _why_no_user_namespace(code: int) -> str:
    """The setting that refuses an unprivileged user namespace here, as far as /proc tells."""
    if _read(PROC / "sys/kernel/unprivileged_userns_clone") == "0":
        return "the sysctl kernel.unprivileged_userns_clone=0 forbids them to unprivileged users"
    if _read(PROC / "sys/user/max_user_namespaces") == "0":
        return "the sysctl user.max_user_namespaces=0 forbids them"
    if _read(PROC / "sys/user/max_net_namespaces") == "0":
        return "the sysctl user.max_net_namespaces=0 forbids network namespaces"
    if code == errno.ENOSPC:
        return "the limit user.max_user_namespaces or user.max_net_namespaces is reached"
    if code == errno.EINVAL:
        return "the process has more than one thread"
    if _read(PROC / "sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
        return "AppArmor restricts them (sysctl kernel.apparmor_restrict_unprivileged_userns=1)"
    status = _read(PROC / "self/status") or ""
    if any(line.split() == ["Seccomp:", "2"] for line in status.splitlines()):
        return "a seccomp filter may refuse unshare (a container's default profile does)"
    return "the kernel refused it"


def _map_identity(uid: int, gid: int) -> None:
    """Inside the new user namespace, map `uid` and `gid` (this process's, from before it) to
    themselves. An unprivileged process may map only its own ids, and its gid only once
    setgroups is denied."""
    with open("/proc/self/setgroups", "w") as setgroups:
        setgroups.write("deny")
    with open("/proc/self/uid_map", "w") as uid_map:
        uid_map.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as gid_map:
        gid_map.write(f"{gid} {gid} 1")


def _enter_user_and_network_namespace() -> None:
    uid, gid = os.geteuid(), os.getegid()
    try:
        _unshare(CLONE_NEWUSER | CLONE_NEWNET)
    except OSError as exc:
        code = exc.errno or errno.EPERM
        raise IsolationUnavailable(
            code, f"no user namespace for uid {uid} ({os.strerror(code)}): {_why_no_user_namespace(code)}"
        ) from exc
    try:
        _map_identity(uid, gid)
    except OSError as exc:
        code = exc.errno or errno.EPERM
        raise IsolationUnavailable(
            code, f"user namespace: mapping uid {uid}, gid {gid}: {exc}: {_why_no_user_namespace(code)}"
        ) from exc


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as control:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(control, SIOCGIFFLAGS, request + b"\0" * 22)[:18])[1]
        fcntl.ioctl(control, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP) + b"\0" * 22)


def enter_isolated_network() -> None:
    """Move this process into a new network namespace whose only interface is its own `lo`."""
    if os.geteuid() == 0:
        try:
            _unshare(CLONE_NEWNET)
        except PermissionError:  # root without CAP_SYS_ADMIN: a container's root, say
            _enter_user_and_network_namespace()
        except OSError as exc:
            raise IsolationUnavailable(exc.errno or errno.EPERM, f"unshare: {exc.strerror}") from exc
    else:
        _enter_user_and_network_namespace()
    try:
        _loopback_up()
    except OSError as exc:
        raise IsolationUnavailable(exc.errno or errno.EPERM, f"loopback: {exc}") from exc


@cache
def isolation_available() -> str | None:
    """None when a job's tools can be isolated here, else why not. Tried once in a child process."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.close(read)
        message = b""
        try:
            enter_isolated_network()
        except OSError as exc:
            message = (exc.strerror or str(exc)).encode()[:512] or b"unavailable"
        with contextlib.suppress(OSError):
            os.write(write, message)
        os._exit(0)
    os.close(write)
    try:
        reply = os.read(read, 1024)
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    return reply.decode(errors="replace") or None
