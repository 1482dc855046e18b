/**
 * Subscriptions over REST (`/subscriptions`): a feed, channel or playlist that the server checks
 * every `intervalSeconds` for entries it has not downloaded yet. The shapes are generated, like
 * those of api/types.ts (haul/contract/subscriptions.py).
 */

import { request } from "./rest";
import type { components } from "./schema.gen";
import type { Accepted } from "./types";

type Schemas = components["schemas"];

export type Subscription = Schemas["Subscription"];
/** `GET /subscriptions`: newest first. */
export type SubscriptionPage = Schemas["SubscriptionPage"];
/** `POST /subscriptions`. */
export type NewSubscription = Schemas["SubscriptionRequest"];

export function listSubscriptions(cursor: string | null = null): Promise<SubscriptionPage> {
  const query = new URLSearchParams({ limit: "100" });
  if (cursor) query.set("cursor", cursor);
  return request("GET", `/subscriptions?${query}`);
}

export function createSubscription(body: NewSubscription): Promise<Subscription> {
  return request("POST", "/subscriptions", body);
}

export function setSubscriptionEnabled(id: string, enabled: boolean): Promise<Subscription> {
  return request("PATCH", `/subscriptions/${id}`, { enabled });
}

export function checkSubscription(id: string): Promise<Accepted> {
  return request("POST", `/subscriptions/${id}/check`);
}

export function deleteSubscription(id: string): Promise<void> {
  return request("DELETE", `/subscriptions/${id}`);
}
