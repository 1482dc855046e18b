"""The one error type the command-line tools raise, and the exit codes they end with.

Exit codes (both tools):

- 0: done (for `haul get`, the job completed; for `haul-admin copy-db`, the copy is verified);
- 1: refused or failed: the server said no, the copy does not verify, the source is busy;
- 2: the command line is wrong (argparse's own code);
- 3: the gateway, jobstore or a database could not be reached;
- 4: `haul get` followed a job that ended failed or cancelled (or was deleted), or a collection
  in which any entry did not complete;
- 130: interrupted (Ctrl-C).
"""

from __future__ import annotations

import json
from typing import Any, TextIO

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_JOB_FAILED = 4
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """Something the user should read: a stable `code`, a message in words, an exit code."""

    def __init__(self, message: str, code: str = "error", exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.exit_code = exit_code

    def as_json(self) -> dict[str, Any]:
        """The same shape the gateway uses for its errors."""
        return {"error": {"code": self.code, "message": self.message}}


def report(error: CliError, program: str, as_json: bool, stdout: TextIO, stderr: TextIO) -> int:
    """Tell the user (JSON on stdout for scripts, words on stderr otherwise); the exit code."""
    if as_json:
        stdout.write(json.dumps(error.as_json(), indent=2) + "\n")
    else:
        stderr.write(f"{program}: error: {error.message}\n")
    return error.exit_code
