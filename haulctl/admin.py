"""`haul-admin`: operating a haul installation from the command line.

    haul-admin copy-db --from URL --to URL [--force] [--prune] [--verify-only] [--json]

copies every job and its history (every table) to another database, SQLite or PostgreSQL, and
verifies the copy; see haulctl.dbcopy for the steps. Exit codes: see haulctl.errors (0 when
the copy verifies, 1 when it does not or must not go ahead).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import NoReturn, TextIO

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from haulctl import dbcopy
from haulctl.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_UNREACHABLE, CliError, report
from jobstore.adapters.uow import is_connection_error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="haul-admin", description="Operate a haul installation.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    copy = commands.add_parser(
        "copy-db",
        help="copy every job and its history to another database, and verify the copy",
        description=dbcopy.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    copy.add_argument(
        "--from", dest="source", required=True, metavar="URL", help="e.g. sqlite+aiosqlite:///var/haul.db"
    )
    copy.add_argument(
        "--to", dest="target", required=True, metavar="URL", help="e.g. postgresql+asyncpg://u:pw@host/haul"
    )
    copy.add_argument("--force", action="store_true", help="copy even while the source has running jobs")
    copy.add_argument("--prune", action="store_true", help="remove target rows that the source does not have")
    copy.add_argument("--verify-only", action="store_true", help="change nothing; only compare the two")
    copy.add_argument("--json", action="store_true", help="print the report as one JSON object")
    return parser


def run(argv: Sequence[str] | None, stdout: TextIO, stderr: TextIO) -> int:
    args = build_parser().parse_args(argv)
    try:
        copied = asyncio.run(
            dbcopy.copy_db(
                args.source, args.target, force=args.force, prune=args.prune, verify_only=args.verify_only
            )
        )
    except (CliError, SQLAlchemyError, OSError) as exc:
        error = exc if isinstance(exc, CliError) else _database_error(exc)
        return report(error, "haul-admin", args.json, stdout, stderr)
    except KeyboardInterrupt:
        stderr.write("haul-admin: interrupted (an unfinished copy is rolled back)\n")
        return EXIT_INTERRUPTED
    stdout.write((json.dumps(copied.as_json(), indent=2) if args.json else copied.text()) + "\n")
    return EXIT_OK if copied.verified else EXIT_FAILED


def _database_error(exc: Exception) -> CliError:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    if is_connection_error(exc):
        return CliError(f"a database could not be reached: {text}", "unreachable", EXIT_UNREACHABLE)
    if isinstance(exc, IntegrityError):
        text += " (the target holds another row with the same unique value; --prune removes rows the source lacks)"
    return CliError(f"the database refused: {text}", "database_error")


def main(argv: Sequence[str] | None = None) -> NoReturn:
    sys.exit(run(argv, sys.stdout, sys.stderr))


if __name__ == "__main__":
    main()
