/** How a collection's counts read on its card. */

import type { CollectionSummary } from "../api/types";

const OTHERS: readonly (keyof CollectionSummary & ("failed" | "running" | "paused" | "queued" | "cancelled" | "skipped"))[] = [
  "failed",
  "running",
  "paused",
  "queued",
  "cancelled",
  "skipped",
];

function count(value: number): string {
  return value.toLocaleString("en-US");
}

/** "3 of 12 completed · 1 failed · 2 running · 6 queued · 4 skipped": the counts that are not 0. */
export function countsText(collection: CollectionSummary): string {
  const parts = [`${count(collection.completed)} of ${count(collection.total)} completed`];
  for (const key of OTHERS) {
    if (collection[key] > 0) parts.push(`${count(collection[key])} ${key}`);
  }
  return parts.join(" · ");
}

/**
 * "500 of 1,000 listed, capped" when `maxItems` cut entries off: the entries taken (children and
 * skipped ones) of all the source listed; null when nothing was cut.
 */
export function cappedText(collection: CollectionSummary): string | null {
  if (!collection.truncated) return null;
  return `${count(collection.total + collection.skipped)} of ${count(collection.listed)} listed, capped`;
}

/** The ZIP holds the completed children's files, so it is offered once there is one. */
export function zipAvailable(collection: CollectionSummary): boolean {
  return collection.completed > 0;
}
