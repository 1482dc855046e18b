"""The OpenAPI paths and parameters of `/subscriptions` (`gateway.subscription_routes`), merged
into the document by `gateway.openapi` and `gateway.openapi_components`; the schemas come from
`haul.contract.subscriptions`."""

from __future__ import annotations

from typing import Any

from gateway.openapi_builders import error, header, integer, ok, op, parameter, ref, string
from haul.contract import limits

SUBSCRIPTION = ("SubscriptionId",)
INVALID_ID = error("The subscription id is not a canonical UUID.", "invalid_subscription_id")
NOT_FOUND = error("No such subscription.", "not_found")
BODY_ERRORS = {
    "400": error(
        "The body is not JSON, or `intervalSeconds` is below the server's floor "
        "(HAUL_SUBSCRIPTION_MIN_INTERVAL, named in the message).",
        "invalid_json",
        "interval_too_short",
    ),
    "413": error("The body is larger than the server accepts.", "body_too_large"),
    "415": error("The body is not sent as application/json.", "unsupported_media_type"),
    "422": error(
        "The body breaks the schema or the URL policy, or jobstore refused a value (e.g. `type: file`).",
        "invalid_request",
        "url_refused",
    ),
}

PARAMETERS: dict[str, dict[str, Any]] = {
    "SubscriptionId": parameter(
        "subscriptionId",
        "path",
        "The subscription's id.",
        string("The subscription's UUID, in canonical lower-case form.", format="uuid"),
        required=True,
    ),
    "SubscriptionLimit": parameter(
        "limit",
        "query",
        "Subscriptions per page.",
        integer(minimum=1, maximum=limits.MAX_PAGE_SIZE, default=limits.DEFAULT_PAGE_SIZE),
    ),
}

PATHS: dict[str, dict[str, Any]] = {
    "/subscriptions": {
        "post": op(
            "createSubscription",
            "subscriptions",
            "Subscribe to a channel, playlist or feed",
            {
                "201": ok(
                    "Subscribed; the first check is due at once.",
                    ref("Subscription"),
                    {"Location": header("The subscription's URL.", required=True)},
                ),
                **BODY_ERRORS,
            },
            description="Every `intervalSeconds` (3600 when not given), one check: a collection job "
            "(`lastJobId`) holding only the entries that no earlier check or download holds. A check "
            "that cannot list the source sets `lastError`; the next interval tries again.",
            body=ref("SubscriptionRequest"),
        ),
        "get": op(
            "listSubscriptions",
            "subscriptions",
            "List subscriptions, newest first",
            {
                "200": ok("One page of subscriptions.", ref("SubscriptionPage")),
                "400": error("A query parameter is invalid.", "invalid_limit", "invalid_cursor"),
            },
            parameters=("SubscriptionLimit", "Cursor"),
        ),
    },
    "/subscriptions/{subscriptionId}": {
        "get": op(
            "getSubscription",
            "subscriptions",
            "Read one subscription",
            {"200": ok("The subscription.", ref("Subscription")), "400": INVALID_ID, "404": NOT_FOUND},
            parameters=SUBSCRIPTION,
        ),
        "patch": op(
            "updateSubscription",
            "subscriptions",
            "Change the interval, options or cap, or pause and resume",
            {
                "200": ok("The subscription after the change.", ref("Subscription")),
                **BODY_ERRORS,
                "400": error(
                    "The id is not a canonical UUID, the body is not JSON, or `intervalSeconds` is below "
                    "the server's floor.",
                    "invalid_subscription_id",
                    "invalid_json",
                    "interval_too_short",
                ),
                "404": NOT_FOUND,
            },
            description="Only the keys given change. A new interval counts from the last check.",
            parameters=SUBSCRIPTION,
            body=ref("SubscriptionPatch"),
        ),
        "delete": op(
            "deleteSubscription",
            "subscriptions",
            "Unsubscribe, keeping the downloads",
            {
                "204": {"description": "Gone; the jobs its checks created, and their files, stay."},
                "400": INVALID_ID,
                "404": NOT_FOUND,
            },
            parameters=SUBSCRIPTION,
        ),
    },
    "/subscriptions/{subscriptionId}/check": {
        "post": op(
            "checkSubscription",
            "subscriptions",
            "Check now",
            {
                "202": ok(
                    "The check's job: a new one, or the previous check's while it has not listed the "
                    "source yet.",
                    ref("CheckAccepted"),
                    {"Location": header("The check job's URL.", required=True)},
                ),
                "400": INVALID_ID,
                "404": NOT_FOUND,
            },
            description="Works while paused too. The next check is then due one interval later.",
            parameters=SUBSCRIPTION,
        ),
    },
}

TAG = {"name": "subscriptions", "description": "Channels, playlists and feeds checked for new entries."}
