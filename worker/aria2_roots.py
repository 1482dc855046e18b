"""The folders aria2c daemons keep their 0600 config (with the RPC secret), session and log in:
`TMP_DIR/.aria2/{name}`, one per job's daemon, held by a lease while it is in use.

A work horse removes its folder when the job ends, but a SIGKILLed one cannot. The worker's
start-up sweep removes what such horses left. Several workers may share TMP_DIR (three worker
containers on one volume, each with its own pid numbers), so a pid in a folder's name says
nothing reliable: it may be reused, or belong to another container's namespace. Instead, the
process that uses a folder holds an exclusive `flock` on the folder's `owner.lock` for as long as
it does. The kernel drops the lock when that process ends, however it ends, and a lock is seen
across containers sharing the volume. The sweep removes a folder only when it can take that
lock itself: no live process holds the folder. A folder without the file (made by an older
version, or a moment before its owner locked it) is removed only once it is an hour old.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

ARIA2_DIR = ".aria2"
OWNER_LOCK = "owner.lock"
# An unlocked folder is left alone this long: its owner may be between mkdir and flock.
UNMARKED_GRACE = 3600.0


class RootInUse(Exception):
    """Another live process holds the folder's lease."""


def new_root(tmp_dir: Path) -> Path:
    """A fresh folder name for one job's daemon: the pid, for people, and a random part, since
    workers in other pid namespaces sharing TMP_DIR can have the same pid."""
    return tmp_dir.resolve() / ARIA2_DIR / f"{os.getpid()}-{secrets.token_hex(4)}"


def _open_lock(root: Path) -> int:
    return os.open(root / OWNER_LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def leased_root(root: Path) -> Iterator[Path]:
    """Create `root` (0700) and hold its lease until the block ends; RootInUse if a live process
    holds it already."""
    for _ in range(3):  # a sweep may remove the folder between our mkdir and our flock
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = _open_lock(root)
        if not _try_lock(fd):
            os.close(fd)
            raise RootInUse(f"{root} is held by another live process")
        with contextlib.suppress(FileNotFoundError):
            if os.stat(root / OWNER_LOCK, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                break
        os.close(fd)
    else:
        raise RootInUse(f"{root} kept disappearing while being leased")
    try:
        # For a person looking at the folder; the lock alone decides.
        os.ftruncate(fd, 0)
        os.write(fd, f"pid={os.getpid()} host={socket.gethostname()}\n".encode())
        yield root
    finally:
        os.close(fd)


@contextlib.contextmanager
def _unless_held(root: Path, now: float) -> Iterator[bool]:
    """True when no live process holds `root`: its lease could be taken (and is held here for
    the block), or it has none and is old."""
    try:
        fd = os.open(root / OWNER_LOCK, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        yield now - root.stat().st_mtime > UNMARKED_GRACE
        return
    try:
        yield _try_lock(fd)
    finally:
        os.close(fd)


def sweep_aria2_roots(tmp_dir: Path, now: float | None = None) -> list[str]:
    """Remove the aria2 folders under `tmp_dir` that no live process holds; returns their names.
    Anything else there (files, symbolic links) is left alone."""
    parent = tmp_dir / ARIA2_DIR
    now = time.time() if now is None else now
    removed = []
    for root in sorted(parent.iterdir()) if parent.is_dir() else []:
        if root.is_symlink() or not root.is_dir():
            continue
        try:
            with _unless_held(root, now) as leftover:
                if leftover:  # removed under the lease, so no one can take it meanwhile
                    shutil.rmtree(root, ignore_errors=True)
                    removed.append(root.name)
        except OSError as exc:  # gone meanwhile, or not ours to open
            log.warning("aria2 folder not checked", folder=root.name, error=str(exc))
    if removed:
        log.info("aria2 folders of ended processes removed", folders=len(removed))
    return removed
