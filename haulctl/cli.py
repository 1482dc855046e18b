"""`haul`: submit downloads, follow them, list and control jobs, from a terminal or a script.

    haul get URL [--type auto|video|audio|file] [--audio mp3|m4a|opus] [--quality 720p]
                 [--container mp4|mkv|webm] [-o PATH] [--no-wait] [--key KEY] [-q]
    haul ls [--status running,queued] [--limit N] [--cursor C]
    haul show ID
    haul cancel|pause|resume|retry ID
    haul delete ID
    haul sub add|ls|show|check|pause|resume|rm ...   (see haulctl.subscriptions)

`haul get` on a playlist, channel or feed follows the collection: an aggregate bar, and a line
per finished entry (with `--json`, JSON lines; see haulctl.get_collection).

Every command takes `--json` (one JSON object on stdout), `--url` (env HAUL_URL, default
http://127.0.0.1:8080) and `--token` (env HAUL_API_TOKEN), or `--grpc ADDR` to talk to jobstore
directly (with `--service-token`, env HAUL_SERVICE_TOKEN). Exit codes: see haulctl.errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TextIO

from haul.contract.limits import MAX_HEIGHT, MAX_PAGE_SIZE
from haul.runtime.tokens import listed_tokens
from haulctl import api as contract
from haulctl.api import JobApi, Submission, is_terminal
from haulctl.display import ProgressReporter, is_collection, job_details, job_table, outcome_text
from haulctl.errors import EXIT_INTERRUPTED, EXIT_JOB_FAILED, EXIT_OK, EXIT_USAGE, CliError, report
from haulctl.follow import follow_job
from haulctl.gateway_api import GatewayApi
from haulctl.get_collection import CollectionGet
from haulctl.subscriptions import add_parser as add_subscription_parser
from haulctl.subscriptions import cmd_sub

DEFAULT_URL = "http://127.0.0.1:8080"
NAMED_HEIGHTS = {"4k": 2160, "8k": 4320}


# -- the command line ------------------------------------------------------------------------


def quality(text: str) -> int | None:
    """`best` (no limit), a height (`720`, `720p`) or `4k`/`8k`: the tallest frame wanted."""
    value = text.strip().lower()
    if value == "best":
        return None
    height = NAMED_HEIGHTS.get(value)
    if height is None:
        digits = value.removesuffix("p")
        if not digits.isdigit():
            raise argparse.ArgumentTypeError(f"{text!r} is not best, a height such as 720p, 4k or 8k")
        height = int(digits)
    if not 1 <= height <= MAX_HEIGHT:
        raise argparse.ArgumentTypeError(f"the height must be between 1 and {MAX_HEIGHT}")
    return height


def statuses(text: str) -> list[str]:
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in contract.STATUSES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown status {unknown[0]!r}; choose from {', '.join(contract.STATUSES)}"
        )
    return names


def page_size(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise argparse.ArgumentTypeError(f"give a number from 1 to {MAX_PAGE_SIZE}")
    return int(text)


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("give a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError("give a number of seconds above 0")
    return value


def _connection_options() -> argparse.ArgumentParser:
    # SUPPRESS as the default lets the options go before or after the command: a subcommand's
    # parser then never overwrites a value given earlier with its own default.
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection and output")
    add = group.add_argument
    add("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object on stdout")
    add(
        "--url",
        dest="gateway_url",  # not `url`: that is what `get` downloads
        default=argparse.SUPPRESS,
        help=f"the gateway (env HAUL_URL, default {DEFAULT_URL})",
    )
    add("--token", default=argparse.SUPPRESS, help="the gateway's API token (env HAUL_API_TOKEN)")
    add("--grpc", metavar="ADDR", default=argparse.SUPPRESS, help="talk to jobstore at host:port instead")
    add(
        "--service-token", default=argparse.SUPPRESS, help="jobstore's service token (env HAUL_SERVICE_TOKEN)"
    )
    add("--timeout", type=seconds, default=argparse.SUPPRESS, help="seconds per request (default 30)")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _connection_options()
    parser = argparse.ArgumentParser(
        prog="haul",
        parents=[common],
        description="Download with a haul service: submit, follow, list and control jobs.",
        epilog="Files are always served by the gateway, so links and -o use --url even with --grpc.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    get = commands.add_parser("get", parents=[common], help="download a URL and follow it to the end")
    get.add_argument("url", help="the http(s) URL to download")
    get.add_argument("--type", choices=contract.JOB_TYPES, help="what to make of it (default auto)")
    get.add_argument("--audio", choices=contract.AUDIO_FORMATS, help="extract audio in this format")
    get.add_argument("--quality", type=quality, help="best, or the tallest height wanted: 720p, 1080, 4k")
    get.add_argument("--container", choices=contract.VIDEO_CONTAINERS, help="merge video into this")
    get.add_argument("-o", "--output", type=Path, help="save the file here (a folder keeps its name)")
    get.add_argument("--no-wait", action="store_true", help="print the job at once, do not follow it")
    get.add_argument("--key", help="an idempotency key: the same key and request give the same job")
    get.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    listing = commands.add_parser("ls", parents=[common], help="list jobs, newest first")
    listing.add_argument("--status", type=statuses, default=[], help="only these, e.g. running,queued")
    listing.add_argument("--limit", type=page_size, default=50, help="at most this many (default 50)")
    listing.add_argument("--cursor", help="the next page, as the previous one said")

    show = commands.add_parser("show", parents=[common], help="one job and its history")
    show.add_argument("job_id", metavar="ID")
    for action in contract.ACTIONS:
        control = commands.add_parser(action, parents=[common], help=f"{action} a job")
        control.add_argument("job_id", metavar="ID")
    delete = commands.add_parser(
        "delete", parents=[common], help="remove a job, its history and files (over --grpc the files stay)"
    )
    delete.add_argument("job_id", metavar="ID")
    add_subscription_parser(commands, common)
    return parser


@dataclass(frozen=True)
class Connection:
    url: str
    token: str | None
    grpc: str | None
    service_token: str | None
    timeout: float


def resolve_connection(args: argparse.Namespace, environ: Mapping[str, str]) -> Connection:
    """Options first, then the environment, then the defaults."""
    url = getattr(args, "gateway_url", None) or environ.get("HAUL_URL") or DEFAULT_URL
    if not url.startswith(("http://", "https://")):
        raise CliError(f"--url must be an http(s) URL, not {url!r}", "usage", EXIT_USAGE)
    # A token variable may list several while it is rotated (the services' own format): send the first.
    return Connection(
        url=url.rstrip("/"),
        token=getattr(args, "token", None) or next(iter(listed_tokens(environ.get("HAUL_API_TOKEN"))), None),
        grpc=getattr(args, "grpc", None) or None,
        service_token=getattr(args, "service_token", None)
        or next(iter(listed_tokens(environ.get("HAUL_SERVICE_TOKEN"))), None),
        timeout=getattr(args, "timeout", 30.0),
    )


def submission_from(args: argparse.Namespace) -> Submission:
    """The request `get` sends. `--audio` alone means an audio job; contradictions are refused."""
    job_type = args.type or ("audio" if args.audio else "auto")
    if args.audio and job_type != "audio":
        raise CliError(f"--audio makes an audio job, not a {job_type} job", "usage", EXIT_USAGE)
    video_only = [
        name for name, value in (("--quality", args.quality), ("--container", args.container)) if value
    ]
    if video_only and job_type in ("audio", "file"):
        raise CliError(f"{video_only[0]} only applies to video, not to {job_type} jobs", "usage", EXIT_USAGE)
    if args.output is not None and args.no_wait:
        raise CliError(
            "--output needs the finished file, so it cannot go with --no-wait", "usage", EXIT_USAGE
        )
    options: dict[str, Any] = {}
    if args.quality:
        options["maxHeight"] = args.quality
    if args.audio:
        options["audioFormat"] = args.audio
    if args.container:
        options["videoContainer"] = args.container
    return Submission(args.url, job_type, options, args.key)


# -- the commands ----------------------------------------------------------------------------


@dataclass
class Context:
    api: JobApi
    files: GatewayApi
    as_json: bool
    stdout: TextIO
    stderr: TextIO

    def emit(self, value: dict[str, Any], text: str) -> None:
        self.stdout.write((json.dumps(value, indent=2) if self.as_json else text) + "\n")


def cmd_get(args: argparse.Namespace, ctx: Context) -> int:
    submission = submission_from(args)
    job = ctx.api.submit(submission)
    if not args.quiet:
        ctx.stderr.write(f"haul: job {job['id']} {job.get('status')}\n")
    if not args.no_wait and not is_terminal(job):
        show = not args.quiet and (ctx.stderr.isatty() or not ctx.as_json)
        reporter = ProgressReporter(ctx.stderr, enabled=show)
        try:
            note = None if args.quiet else reporter.note
            job = follow_job(ctx.api, str(job["id"]), reporter.update, note, until=is_collection)
        except KeyboardInterrupt:
            reporter.finish()
            raise CliError(
                f"stopped following; the job goes on (haul show {job['id']})", "interrupted", EXIT_INTERRUPTED
            ) from None
        reporter.finish()
    if is_collection(job) and not args.no_wait:
        collection = CollectionGet(ctx.api, ctx.files, ctx.as_json, args.quiet, ctx.stdout, ctx.stderr)
        return collection.follow(job, args.output)
    saved = None
    if args.output is not None and job.get("status") == "completed":
        saved = ctx.files.download(job, args.output)
    payload = {**job, "savedTo": str(saved)} if saved is not None else job
    ctx.emit(payload, outcome_text(job, ctx.files.file_url(str(job["id"])), saved))
    return EXIT_JOB_FAILED if job.get("status") in ("failed", "cancelled") else EXIT_OK


def cmd_ls(args: argparse.Namespace, ctx: Context) -> int:
    page = ctx.api.list(args.status, args.limit, args.cursor)
    text = job_table(page.items)
    if page.next_cursor:
        text += f"\nmore: haul ls --cursor {page.next_cursor}"
    ctx.emit(page.as_json(), text)
    return EXIT_OK


def cmd_show(args: argparse.Namespace, ctx: Context) -> int:
    job = ctx.api.get(args.job_id)
    ctx.emit(job, job_details(job, ctx.files.file_url(str(job["id"]))))
    return EXIT_OK


def cmd_control(args: argparse.Namespace, ctx: Context) -> int:
    job = ctx.api.control(args.job_id, args.command)
    ctx.emit(job, f"{job['id']}  {job.get('status')}")
    return EXIT_OK


def cmd_delete(args: argparse.Namespace, ctx: Context) -> int:
    reply = ctx.api.delete(args.job_id)
    ctx.emit(reply, f"deleted {reply['jobId']} (it was {reply.get('status')})")
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace, Context], int]] = {
    "sub": cmd_sub,
    "get": cmd_get,
    "ls": cmd_ls,
    "show": cmd_show,
    "delete": cmd_delete,
    **dict.fromkeys(contract.ACTIONS, cmd_control),
}


def open_api(connection: Connection) -> JobApi:
    if connection.grpc:
        from haulctl.jobstore_api import JobstoreApi  # grpc and the stubs load only when asked for

        return JobstoreApi(connection.grpc, connection.service_token, connection.timeout)
    return GatewayApi(connection.url, connection.token, connection.timeout)


def run(argv: Sequence[str] | None, stdout: TextIO, stderr: TextIO, environ: Mapping[str, str]) -> int:
    """The whole command; returns the exit code (argparse exits 2 by itself on a bad command line)."""
    args = build_parser().parse_args(argv)
    as_json = bool(getattr(args, "json", False))
    try:
        connection = resolve_connection(args, environ)
        files = GatewayApi(connection.url, connection.token, connection.timeout)
        api = open_api(connection)
        try:
            return COMMANDS[args.command](args, Context(api, files, as_json, stdout, stderr))
        finally:
            api.close()
    except CliError as exc:
        return report(exc, "haul", as_json, stdout, stderr)
    except KeyboardInterrupt:
        stderr.write("haul: interrupted\n")
        return EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None) -> NoReturn:
    sys.exit(run(argv, sys.stdout, sys.stderr, os.environ))
