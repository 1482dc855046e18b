/**
 * The children of the collections whose entries the page shows. They are fetched on demand, a
 * page at a time (`GET /downloads?parent=`), and kept only while their list is open: a
 * collection can hold a thousand entries, and the live feed brings every one's progress.
 */

import type { Job } from "../api/types";
import { type JobTable, type JobView, mergeJob, put } from "./table";

export interface ChildList extends JobTable {
  /** Where the next page starts; null once every child is here (or before the first page). */
  nextCursor: string | null;
  /** Whether the first page has arrived. */
  loaded: boolean;
}

/** By parent id: only the collections whose children are open. */
export type ChildLists = Readonly<Record<string, ChildList>>;

const EMPTY: ChildList = { byId: {}, nextCursor: null, loaded: false };

export function openList(lists: ChildLists, parentId: string): ChildLists {
  return parentId in lists ? lists : { ...lists, [parentId]: EMPTY };
}

export function closeList(lists: ChildLists, parentId: string): ChildLists {
  if (!(parentId in lists)) return lists;
  const { [parentId]: _closed, ...rest } = lists;
  return rest;
}

/** A page of children, merged by version with what the list holds; ignored once it was closed. */
export function addPage(lists: ChildLists, parentId: string, jobs: Job[], nextCursor: string | null): ChildLists {
  const list = lists[parentId];
  if (!list) return lists;
  const merged = jobs.reduce((acc, job) => put(acc, mergeJob(acc.byId[job.id], job)), list);
  return { ...lists, [parentId]: { ...merged, nextCursor, loaded: true } };
}

/**
 * A child's own snapshot (the live feed's news of a child the list did not hold): it joins the
 * list only where the pages already reach, so the list stays a prefix of the collection in
 * entry order, and the next page brings the rest.
 */
export function admitChild(list: ChildList, job: Job): ChildList {
  const held = list.byId[job.id];
  if (!held) {
    if (!list.loaded) return list;
    if (list.nextCursor !== null) {
      const reach = Math.max(...Object.values(list.byId).map((j) => j.entryIndex ?? 0));
      if ((job.entryIndex ?? Number.MAX_SAFE_INTEGER) > reach) return list;
    }
  }
  return put(list, mergeJob(held, job));
}

/** In entry order, as the collection lists them. */
export function inEntryOrder(list: ChildList): JobView[] {
  const index = (job: JobView) => job.entryIndex ?? Number.MAX_SAFE_INTEGER;
  return Object.values(list.byId).sort((a, b) => index(a) - index(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
