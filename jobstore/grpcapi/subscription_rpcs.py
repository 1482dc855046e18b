"""The subscription RPCs of JobStoreService, and their conversions: convert the request, call one
use case (`jobstore.subscriptions`), convert the reply. `JobStoreServicer` inherits them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeAlias

import grpc

from haul.jobstore.v1 import jobstore_pb2 as pb
from jobstore import subscriptions
from jobstore.domain import validation
from jobstore.domain.collections import HARD_MAX_ITEMS
from jobstore.domain.errors import InvalidInput
from jobstore.domain.subscriptions import Subscription, interval
from jobstore.domain.values import JobType
from jobstore.grpcapi import convert
from jobstore.grpcapi.errors import unary
from jobstore.ports import UnitOfWork

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


def subscription_to_pb(subscription: Subscription) -> pb.Subscription:
    s = subscription
    return pb.Subscription(
        id=str(s.id),
        url=s.url,
        title=s.title,
        type=convert.value_to_pb(s.type),
        options=convert.options_to_pb(s.options),
        max_items=s.max_items,
        interval_seconds=s.interval_seconds,
        enabled=s.enabled,
        next_check_at=convert.timestamp(s.next_check_at),
        last_checked_at=convert.timestamp(s.last_checked_at),
        last_error=s.last_error,
        last_job_id=str(s.last_job_id) if s.last_job_id else "",
        created_at=convert.timestamp(s.created_at),
        updated_at=convert.timestamp(s.updated_at),
    )


def subscription_id(text: str) -> uuid.UUID:
    """A subscription id: a canonical UUID, as a job id is."""
    try:
        return validation.job_id(text)
    except InvalidInput:
        raise InvalidInput(f"subscription_id {text[:64]!r} is not a canonical UUID") from None


def reply(subscription: Subscription) -> pb.SubscriptionResponse:
    return pb.SubscriptionResponse(subscription=subscription_to_pb(subscription))


class SubscriptionRpcs:
    """Mixed into the servicer, which provides the unit of work, the interval floor and the
    policy every check job is created with."""

    _uow: Callable[[], UnitOfWork]
    _subscription_min_interval: int
    _check_policy: subscriptions.CheckPolicy

    @unary
    async def CreateSubscription(
        self, request: pb.CreateSubscriptionRequest, context: Context
    ) -> pb.SubscriptionResponse:
        job_type = convert.from_pb(JobType, request.type, "type", optional=True) or JobType.AUTO
        if job_type is JobType.FILE:
            raise InvalidInput("type: a file is never a collection, so it cannot be subscribed to")
        options = convert.options_from_pb(request.options)
        command = subscriptions.NewSubscription(
            url=validation.url(request.url),
            type=job_type,
            options=options,
            max_items=validation.count("max_items", request.max_items, HARD_MAX_ITEMS) or options.max_items,
            interval_seconds=interval(request.interval_seconds, self._subscription_min_interval),
        )
        return reply(await subscriptions.create_subscription(self._uow(), command))

    @unary
    async def GetSubscription(
        self, request: pb.GetSubscriptionRequest, context: Context
    ) -> pb.SubscriptionResponse:
        found = await subscriptions.get_subscription(self._uow(), subscription_id(request.subscription_id))
        return reply(found)

    @unary
    async def ListSubscriptions(
        self, request: pb.ListSubscriptionsRequest, context: Context
    ) -> pb.ListSubscriptionsResponse:
        size = validation.count("page_size", request.page_size, validation.MAX_PAGE_SIZE)
        token = validation.text("page_token", request.page_token, validation.MAX_SHORT_TEXT)
        page = await subscriptions.list_subscriptions(
            self._uow(), size or validation.DEFAULT_PAGE_SIZE, token
        )
        return pb.ListSubscriptionsResponse(
            subscriptions=[subscription_to_pb(s) for s in page.subscriptions],
            next_page_token=page.next_page_token,
        )

    @unary
    async def UpdateSubscription(
        self, request: pb.UpdateSubscriptionRequest, context: Context
    ) -> pb.SubscriptionResponse:
        has = request.HasField
        change = subscriptions.SubscriptionChange(
            interval_seconds=interval(request.interval_seconds, self._subscription_min_interval)
            if has("interval_seconds")
            else None,
            options=convert.options_from_pb(request.options) if has("options") else None,
            max_items=validation.count("max_items", request.max_items, HARD_MAX_ITEMS)
            if has("max_items")
            else None,
            enabled=request.enabled if has("enabled") else None,
        )
        updated = await subscriptions.update_subscription(
            self._uow(), subscription_id(request.subscription_id), change
        )
        return reply(updated)

    @unary
    async def DeleteSubscription(
        self, request: pb.GetSubscriptionRequest, context: Context
    ) -> pb.SubscriptionResponse:
        deleted = await subscriptions.delete_subscription(
            self._uow(), subscription_id(request.subscription_id)
        )
        return reply(deleted)

    @unary
    async def CheckSubscription(
        self, request: pb.GetSubscriptionRequest, context: Context
    ) -> pb.CheckSubscriptionResponse:
        uow = self._uow
        the_id = subscription_id(request.subscription_id)
        job, created = await subscriptions.check_subscription(uow(), the_id, self._check_policy)
        subscription = await subscriptions.get_subscription(uow(), the_id)
        return pb.CheckSubscriptionResponse(
            job_id=str(job.id), created=created, subscription=subscription_to_pb(subscription)
        )
