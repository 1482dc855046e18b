"""`haul sub`: subscriptions from the terminal, over the gateway's REST API or (with --grpc)
jobstore's.

    haul sub add URL [--every SECONDS|15m|6h|1d] [--type auto|video|audio] [--max-items N]
    haul sub ls [--limit N] [--cursor C]
    haul sub show|check|pause|resume|rm ID

Subscriptions travel as the gateway's JSON shape (`haul.contract.subscriptions`) over either
transport, so `--json` prints the same object.
"""

from __future__ import annotations

import argparse
import urllib.parse
from typing import TYPE_CHECKING, Any, Protocol

from haul.contract.events import MAX_COLLECTION_ENTRIES
from haulctl.errors import EXIT_OK
from haulctl.gateway_api import GatewayApi

if TYPE_CHECKING:
    from haulctl.cli import Context
    from haulctl.jobstore_api import JobstoreApi

Subscription = dict[str, Any]
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# haul.contract.subscriptions.MAX_INTERVAL, not imported: that loads the protobuf stubs, which
# the REST path does without.
MAX_INTERVAL = 366 * 24 * 3600
TYPES = ("auto", "video", "audio")


def every(text: str) -> int:
    """An interval: seconds (`900`), or with a unit (`15m`, `6h`, `1d`)."""
    value = text.strip().lower()
    unit = UNITS.get(value[-1:], 0)
    digits = value[:-1] if unit else value
    if not digits.isdigit() or not 1 <= int(digits) * (unit or 1) <= MAX_INTERVAL:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds, or 15m, 6h, 1d")
    return int(digits) * (unit or 1)


def max_items(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_COLLECTION_ENTRIES:
        raise argparse.ArgumentTypeError(f"give a number from 1 to {MAX_COLLECTION_ENTRIES}")
    return int(text)


class SubscriptionApi(Protocol):
    def add(self, body: dict[str, Any]) -> Subscription: ...

    def list(self, limit: int, cursor: str | None) -> dict[str, Any]:
        """`{items, nextCursor}`, newest first."""
        ...

    def get(self, subscription_id: str) -> Subscription: ...

    def update(self, subscription_id: str, change: dict[str, Any]) -> Subscription: ...

    def check(self, subscription_id: str) -> str:
        """The check's job id: a new one, or the unfinished previous check's."""
        ...

    def delete(self, subscription_id: str) -> None: ...


class GatewaySubscriptions:
    """`/subscriptions` on the gateway."""

    def __init__(self, gateway: GatewayApi) -> None:
        self._gateway = gateway

    def _path(self, subscription_id: str, tail: str = "") -> str:
        return f"/subscriptions/{urllib.parse.quote(subscription_id, safe='')}{tail}"

    def add(self, body: dict[str, Any]) -> Subscription:
        made: Subscription = self._gateway._json("POST", "/subscriptions", body)
        return made

    def list(self, limit: int, cursor: str | None) -> dict[str, Any]:
        query = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        page: dict[str, Any] = self._gateway._json("GET", f"/subscriptions?{urllib.parse.urlencode(query)}")
        return page

    def get(self, subscription_id: str) -> Subscription:
        found: Subscription = self._gateway._json("GET", self._path(subscription_id))
        return found

    def update(self, subscription_id: str, change: dict[str, Any]) -> Subscription:
        updated: Subscription = self._gateway._json("PATCH", self._path(subscription_id), change)
        return updated

    def check(self, subscription_id: str) -> str:
        return str(self._gateway._json("POST", self._path(subscription_id, "/check"))["jobId"])

    def delete(self, subscription_id: str) -> None:
        self._gateway._open("DELETE", self._path(subscription_id)).close()


class JobstoreSubscriptions:
    """The subscription RPCs of jobstore, answering in the gateway's shape."""

    def __init__(self, api: JobstoreApi) -> None:
        self._api = api

    def _rpc(self, method: str, request: Any) -> Any:
        return self._api._call(getattr(self._api._stub, method), request)

    def _request(self, subscription_id: str) -> Any:
        from haul.jobstore.v1 import jobstore_pb2 as pb

        return pb.GetSubscriptionRequest(subscription_id=subscription_id)

    def add(self, body: dict[str, Any]) -> Subscription:
        from haul.contract import subscriptions
        from haul.contract.enums import JobType
        from haul.contract.proto_enums import to_proto
        from haul.jobstore.v1 import jobstore_pb2 as pb

        request = pb.CreateSubscriptionRequest(
            url=body["url"],
            type=to_proto(JobType(body.get("type", "auto"))),
            interval_seconds=body.get("intervalSeconds") or 0,
            max_items=body.get("maxItems") or 0,
        )
        return subscriptions.subscription(self._rpc("CreateSubscription", request).subscription).wire()

    def list(self, limit: int, cursor: str | None) -> dict[str, Any]:
        from haul.contract import subscriptions
        from haul.jobstore.v1 import jobstore_pb2 as pb

        page = self._rpc(
            "ListSubscriptions", pb.ListSubscriptionsRequest(page_size=limit, page_token=cursor or "")
        )
        return {
            "items": [subscriptions.subscription(s).wire() for s in page.subscriptions],
            "nextCursor": page.next_page_token or None,
        }

    def get(self, subscription_id: str) -> Subscription:
        from haul.contract import subscriptions

        reply = self._rpc("GetSubscription", self._request(subscription_id))
        return subscriptions.subscription(reply.subscription).wire()

    def update(self, subscription_id: str, change: dict[str, Any]) -> Subscription:
        from haul.contract import subscriptions
        from haul.jobstore.v1 import jobstore_pb2 as pb

        request = pb.UpdateSubscriptionRequest(subscription_id=subscription_id)
        if "enabled" in change:
            request.enabled = bool(change["enabled"])
        reply = self._rpc("UpdateSubscription", request)
        return subscriptions.subscription(reply.subscription).wire()

    def check(self, subscription_id: str) -> str:
        return str(self._rpc("CheckSubscription", self._request(subscription_id)).job_id)

    def delete(self, subscription_id: str) -> None:
        self._rpc("DeleteSubscription", self._request(subscription_id))


# -- the command line ------------------------------------------------------------------------


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    """`haul sub ...`, beside the other commands."""
    sub = commands.add_parser(
        "sub", parents=[common], help="subscriptions: channels and feeds checked for new items"
    )
    actions = sub.add_subparsers(dest="sub_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", parents=[common], help="subscribe to a channel, playlist or feed")
    add.add_argument("url", help="the http(s) URL of the source")
    add.add_argument("--every", type=every, help="seconds between checks, or 15m, 6h, 1d (default 1h)")
    add.add_argument("--type", choices=TYPES, default="auto", help="what each entry is downloaded as")
    add.add_argument("--max-items", type=max_items, help="the most entries one check takes")
    listing = actions.add_parser("ls", parents=[common], help="list subscriptions, newest first")
    listing.add_argument("--limit", type=max_items, default=50, help="at most this many (default 50)")
    listing.add_argument("--cursor", help="the next page, as the previous one said")
    for action, words in (
        ("show", "one subscription"),
        ("check", "check now"),
        ("pause", "stop checking"),
        ("resume", "check again"),
        ("rm", "unsubscribe (the downloads stay)"),
    ):
        actions.add_parser(action, parents=[common], help=words).add_argument("subscription_id", metavar="ID")


def open_subscriptions(ctx: Context) -> SubscriptionApi:
    if isinstance(ctx.api, GatewayApi):
        return GatewaySubscriptions(ctx.api)
    from haulctl.jobstore_api import JobstoreApi

    if isinstance(ctx.api, JobstoreApi):
        return JobstoreSubscriptions(ctx.api)
    return GatewaySubscriptions(ctx.files)


def cmd_sub(args: argparse.Namespace, ctx: Context) -> int:
    subs = open_subscriptions(ctx)
    action = args.sub_command
    if action == "add":
        body: dict[str, Any] = {"url": args.url, "type": args.type}
        if args.every:
            body["intervalSeconds"] = args.every
        if args.max_items:
            body["maxItems"] = args.max_items
        made = subs.add(body)
        ctx.emit(
            made, f"subscribed {made['id']}: {made['url']}, every {interval_text(made)}; first check now"
        )
    elif action == "ls":
        page = subs.list(args.limit, args.cursor)
        text = subscription_table(page["items"])
        if page.get("nextCursor"):
            text += f"\nmore: haul sub ls --cursor {page['nextCursor']}"
        ctx.emit(page, text)
    elif action == "show":
        found = subs.get(args.subscription_id)
        ctx.emit(found, subscription_details(found))
    elif action == "check":
        job_id = subs.check(args.subscription_id)
        ctx.emit({"jobId": job_id}, f"checking {args.subscription_id}: job {job_id} (haul show {job_id})")
    elif action in ("pause", "resume"):
        changed = subs.update(args.subscription_id, {"enabled": action == "resume"})
        ctx.emit(changed, f"{changed['id']}  {'enabled' if changed['enabled'] else 'paused'}")
    else:
        subs.delete(args.subscription_id)
        ctx.emit(
            {"subscriptionId": args.subscription_id, "deleted": True},
            f"unsubscribed {args.subscription_id} (its downloads stay)",
        )
    return EXIT_OK


# -- how subscriptions look on a terminal ----------------------------------------------------


def interval_text(subscription: Subscription) -> str:
    """The interval in the units `--every` takes, largest first: 6h, 90m, 2h 30m, 16m 40s, 90s."""
    seconds = int(subscription.get("intervalSeconds") or 0)
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        # A unit is used from two of it on (90s, not 1m 30s), or when it divides the rest exactly.
        if seconds >= size and (parts or seconds % size == 0 or seconds >= 2 * size):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    if seconds or not parts:
        parts.append(f"{seconds}s")
    return " ".join(parts)


def state(subscription: Subscription) -> str:
    if not subscription.get("enabled"):
        return "paused"
    return "error" if subscription.get("lastError") else "ok"


def subscription_table(items: list[Subscription]) -> str:
    if not items:
        return "no subscriptions"
    lines = [f"{'ID':36}  {'STATE':6}  {'EVERY':5}  {'LAST CHECK':24}  SOURCE"]
    for s in items:
        last = s.get("lastCheckedAt") or "never"
        lines.append(
            f"{s['id']:36}  {state(s):6}  {interval_text(s):5}  {last:24}  {s.get('title') or s['url']}"
        )
    return "\n".join(lines)


def subscription_details(s: Subscription) -> str:
    rows = [
        ("id", s["id"]),
        ("source", s["url"]),
        ("title", s.get("title") or "-"),
        ("type", s.get("type")),
        ("every", interval_text(s)),
        ("state", "enabled" if s.get("enabled") else "paused"),
        ("max items", s.get("maxItems") or "server default"),
        ("last check", s.get("lastCheckedAt") or "never"),
        ("next check", s.get("nextCheckAt") or "-"),
        ("last job", s.get("lastJobId") or "-"),
        ("last error", s.get("lastError") or "-"),
    ]
    return "\n".join(f"{name:11} {value}" for name, value in rows)
