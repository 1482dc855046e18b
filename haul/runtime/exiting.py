"""Leaving a service once its own graceful stop is done.

After a service has stopped in order (RPCs drained, sockets closed, the database let go), the
interpreter's own teardown still frees every module and object one by one: about a second of
CPU for jobstore or the gateway here, several on a busy machine, during which the process is
still there and `make run`'s Ctrl-C waits for it. Nothing is left for that teardown to do, so
the process flushes its output and leaves at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys


def exit_now(code: int = 0) -> None:
    """Flush the logs and standard streams, then end the process without the interpreter's
    teardown (no atexit handlers, no garbage collection of the heap). Call only after the
    service's own stop has run."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed, or the terminal is gone
            stream.flush()
    os._exit(code)
