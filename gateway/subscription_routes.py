"""`/subscriptions`: subscribe to a channel, playlist or feed, list, read, change, delete, check now.

Bodies are validated like `POST /downloads` (the same URL policy and options); what jobstore
refuses (the interval floor, a `file` type) comes back as its words. The shapes are
`haul.contract.subscriptions`.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import grpc
from aiohttp import web
from pydantic import BaseModel, ValidationError

from gateway.errors import ApiError
from gateway.paging import fetch_page, page_query
from gateway.rest import JOBSTORE, read_json
from haul.contract import from_proto
from haul.contract.proto_enums import to_proto
from haul.contract.subscriptions import (
    CheckAccepted,
    SubscriptionPage,
    SubscriptionPatch,
    SubscriptionRequest,
    subscription,
)
from haul.contract.urls import UrlRefused, check_url
from haul.jobstore.v1 import jobstore_pb2 as pb

Body = TypeVar("Body", bound=BaseModel)


def subscription_id_from(request: web.Request) -> str:
    raw = request.match_info["subscription_id"]
    try:
        parsed = uuid.UUID(raw)
    except ValueError:
        raise ApiError(400, "invalid_subscription_id", "the subscription id is not a UUID") from None
    if str(parsed) != raw.lower():
        raise ApiError(400, "invalid_subscription_id", "the subscription id is not a canonical UUID")
    return str(parsed)


async def body_of(request: web.Request, model: type[Body]) -> Body:
    try:
        return model.model_validate(await read_json(request))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ApiError(422, "invalid_request", f"{where}: {first['msg']}") from None


async def call(request: web.Request, method: str, message: Any) -> Any:
    """One jobstore call; its refusal of the interval is the caller's 400, naming the floor."""
    try:
        return await request.app[JOBSTORE].call(method, message)
    except grpc.aio.AioRpcError as exc:
        details = exc.details() or ""
        if exc.code() is grpc.StatusCode.INVALID_ARGUMENT and details.startswith("interval_seconds"):
            message = details.replace("interval_seconds", "intervalSeconds", 1)
            raise ApiError(400, "interval_too_short", message) from None
        raise


def reply(message: pb.Subscription, status: int = 200, **headers: str) -> web.Response:
    return web.json_response(subscription(message).wire(), status=status, headers=headers or None)


async def create_subscription(request: web.Request) -> web.Response:
    body = await body_of(request, SubscriptionRequest)
    try:
        check_url(body.url)
    except UrlRefused as exc:
        raise ApiError(422, "url_refused", str(exc)) from None
    created = await call(
        request,
        "CreateSubscription",
        pb.CreateSubscriptionRequest(
            url=body.url,
            type=to_proto(body.type),
            options=from_proto.options_message(body.options),
            interval_seconds=body.interval_seconds or 0,
            max_items=body.max_items or 0,
        ),
    )
    made = created.subscription
    return reply(made, 201, Location=f"/subscriptions/{made.id}")


async def list_subscriptions(request: web.Request) -> web.Response:
    page_of = page_query(request)
    page = await fetch_page(
        call(
            request,
            "ListSubscriptions",
            pb.ListSubscriptionsRequest(page_size=page_of.limit, page_token=page_of.cursor),
        )
    )
    listed = SubscriptionPage.of(
        items=[subscription(s) for s in page.subscriptions], next_cursor=page.next_page_token or None
    )
    return web.json_response(listed.wire())


async def get_subscription(request: web.Request) -> web.Response:
    found = await call(
        request, "GetSubscription", pb.GetSubscriptionRequest(subscription_id=subscription_id_from(request))
    )
    return reply(found.subscription)


async def update_subscription(request: web.Request) -> web.Response:
    the_id = subscription_id_from(request)
    body = await body_of(request, SubscriptionPatch)
    change = pb.UpdateSubscriptionRequest(subscription_id=the_id)
    if body.interval_seconds is not None:
        change.interval_seconds = body.interval_seconds
    if body.options is not None:
        change.options.CopyFrom(from_proto.options_message(body.options))
    if body.max_items is not None:
        change.max_items = body.max_items
    if body.enabled is not None:
        change.enabled = body.enabled
    updated = await call(request, "UpdateSubscription", change)
    return reply(updated.subscription)


async def delete_subscription(request: web.Request) -> web.Response:
    """The subscription goes; the downloads its checks made, and their files, stay."""
    the_id = subscription_id_from(request)
    await call(request, "DeleteSubscription", pb.GetSubscriptionRequest(subscription_id=the_id))
    return web.Response(status=204)


async def check_subscription(request: web.Request) -> web.Response:
    the_id = subscription_id_from(request)
    checked = await call(request, "CheckSubscription", pb.GetSubscriptionRequest(subscription_id=the_id))
    accepted = CheckAccepted.of(job_id=checked.job_id)
    return web.json_response(
        accepted.wire(), status=202, headers={"Location": f"/downloads/{checked.job_id}"}
    )


def add_routes(app: web.Application) -> None:
    app.router.add_post("/subscriptions", create_subscription)
    app.router.add_get("/subscriptions", list_subscriptions)
    app.router.add_get("/subscriptions/{subscription_id}", get_subscription)
    app.router.add_patch("/subscriptions/{subscription_id}", update_subscription)
    app.router.add_delete("/subscriptions/{subscription_id}", delete_subscription)
    app.router.add_post("/subscriptions/{subscription_id}/check", check_subscription)
