/**
 * Subscriptions over REST (`/subscriptions`, issue 13): a feed, channel or playlist that the
 * server checks every `intervalSeconds` for entries it has not downloaded yet.
 *
 * The shapes are written to the agreed contract until the gateway's OpenAPI document carries
 * them; then they become aliases of schema.gen.ts like the rest of api/types.ts.
 */

import { request } from "./rest";
import type { DownloadOptions, JobType } from "./types";

export interface Subscription {
  id: string;
  url: string;
  title: string | null;
  type: JobType;
  options: Partial<DownloadOptions> | null;
  maxItems: number | null;
  intervalSeconds: number;
  enabled: boolean;
  lastCheckedAt: string | null;
  nextCheckAt: string | null;
  lastError: string | null;
  lastJobId: string | null;
  createdAt: string;
}

export interface SubscriptionPage {
  items: Subscription[];
  nextPageToken: string | null;
}

export interface NewSubscription {
  url: string;
  type: JobType;
  intervalSeconds: number;
}

export function listSubscriptions(pageToken: string | null = null): Promise<SubscriptionPage> {
  const query = new URLSearchParams({ limit: "100" });
  if (pageToken) query.set("pageToken", pageToken);
  return request("GET", `/subscriptions?${query}`);
}

export function createSubscription(body: NewSubscription): Promise<Subscription> {
  return request("POST", "/subscriptions", body);
}

export function setSubscriptionEnabled(id: string, enabled: boolean): Promise<Subscription> {
  return request("PATCH", `/subscriptions/${id}`, { enabled });
}

export function checkSubscription(id: string): Promise<{ jobId: string }> {
  return request("POST", `/subscriptions/${id}/check`);
}

export function deleteSubscription(id: string): Promise<void> {
  return request("DELETE", `/subscriptions/${id}`);
}
