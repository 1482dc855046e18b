"""What a job's error message may hold: one short line a person can read, nothing of the server.

A tool's failure text can carry a Python traceback, the worker's install and temporary paths,
or a page of a server's answer. The stored message (`errorMessage`, the history, the browser
events) keeps only one line of it: the worker shortens it before it sends `failed`, and
jobstore shortens it again as a backstop, so whatever a worker sends, no more gets through.
The full text stays in the worker's logs.
"""

from __future__ import annotations

import re

MAX_ERROR_MESSAGE = 300
TRACEBACK_HEADER = "Traceback (most recent call last)"
# An absolute file path: a `/` that starts a word (not one inside a URL, after `host` or `:`),
# at least two segments. Windows-style drive paths too, for tools that print them.
FILE_PATH = re.compile(r"(?<![\w.:/~-])(?:[A-Za-z]:)?(?:[/\\][^\s/\\'\"()<>,;]+){2,}[/\\]?")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
TOOL_PREFIX = re.compile(r"^(?:ERROR|error|Error):\s*")


def short_error_message(text: str) -> str:
    """One line of at most MAX_ERROR_MESSAGE characters, without tracebacks or file paths.

    For a traceback the last line (the exception itself) is kept, otherwise the first
    non-empty one; a path is cut to its last segment, as `…/name`.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[-1] if any(TRACEBACK_HEADER in entry for entry in lines) else lines[0]
    line = TOOL_PREFIX.sub("", line)
    line = FILE_PATH.sub(_last_segment, line)
    line = " ".join(CONTROL.sub(" ", line).split())
    if len(line) > MAX_ERROR_MESSAGE:
        line = line[: MAX_ERROR_MESSAGE - 1].rstrip() + "…"
    return line


def _last_segment(found: re.Match[str]) -> str:
    segments = [part for part in re.split(r"[/\\]", found.group(0)) if part]
    return "…/" + segments[-1] if segments else "…"
