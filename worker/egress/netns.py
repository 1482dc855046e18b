"""A network namespace with only loopback: defence in depth behind the egress proxy.

A process that calls `enter_isolated_network()` can no longer reach any address of the
machine or the internet: its namespace has a `lo` of its own and nothing else. The job's tools
run in such a process, and their only way out is a Unix socket (a filesystem path, which no
network namespace hides) on which the job's egress proxy listens. So even a tool that ignored
its proxy setting would find nothing to connect to.

As root, `unshare(CLONE_NEWNET)` is enough. Otherwise a user namespace comes first, where the
unprivileged process holds the capabilities to configure its own network namespace; the kernel
allows that only to a single-threaded process, so enter the namespace right after a fork.
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

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


class IsolationUnavailable(OSError):
    """This platform (kernel settings, seccomp, a container) does not allow the namespace."""


def _unshare(flags: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(flags) != 0:
        code = ctypes.get_errno()
        raise IsolationUnavailable(code, f"unshare: {os.strerror(code)}")


def _map_identity() -> None:
    """Inside a new user namespace, keep this process's own uid and gid."""
    uid, gid = os.getuid(), os.getgid()
    with open("/proc/self/setgroups", "w") as setgroups:
        setgroups.write("deny")
    with open("/proc/self/uid_map", "w") as uid_map:
        uid_map.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as gid_map:
        gid_map.write(f"{gid} {gid} 1")


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as control:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(control, SIOCGIFFLAGS, request + b"\0" * 22)[:18])[1]
        fcntl.ioctl(control, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP) + b"\0" * 22)


def enter_isolated_network() -> None:
    """Move this process into a new network namespace whose only interface is its own `lo`."""
    if os.geteuid() == 0:
        _unshare(CLONE_NEWNET)
    else:
        _unshare(CLONE_NEWUSER | CLONE_NEWNET)
        try:
            _map_identity()
        except OSError as exc:
            raise IsolationUnavailable(exc.errno or errno.EPERM, f"user namespace: {exc}") from exc
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
            message = str(exc).encode()[:512] or b"unavailable"
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
