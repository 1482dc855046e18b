/**
 * Keeps the page's job list in step with the server.
 *
 * - Live: the `/jobs` socket's list feed (`subscribe {all: true}` answers with a snapshot),
 *   then its events. A job the page does not know yet (created elsewhere, or our own submit)
 *   is fetched through its room with `subscribe {jobId}`.
 * - Socket down: `GET /downloads` every POLL_INTERVAL_MS until it is back. The indicator says
 *   "reconnecting" until a poll succeeds, then "polling".
 * - Back up, or told to `resync`: a fresh list snapshot, which the reducer merges by version.
 * - Collections: events carry no counts, so an event about a collection or one of its children
 *   fetches that collection again, at most once every COLLECTION_REFRESH_MS. A child's events
 *   reach its collection's open list of children (the reducer routes them), never the top level.
 */

import { useEffect, useReducer, useRef, useState } from "react";
import { listDownloads } from "../api/rest";
import { askForToken, isTokenRefusal } from "../api/token";
import { collectionTouched, initialJobs, type JobsAction, type JobsState, jobsReducer, needsSnapshot } from "../state/jobs";
import { Poller } from "./poller";
import { Refresher } from "./refresher";
import { type JobSocket, openJobSocket, snapshotOf, subscribeAll } from "./socket";

export type Connection = "connecting" | "live" | "reconnecting" | "polling";

export const POLL_INTERVAL_MS = 3000;
const RETRY_MS = 3000;
export const COLLECTION_REFRESH_MS = 1000;

/** Fetches collections again when their counts may have moved, each at most once a gap. */
class CollectionRefreshes {
  private readonly byId = new Map<string, Refresher>();

  constructor(private readonly fetch: (jobId: string) => void) {}

  request(parentId: string): void {
    let refresher = this.byId.get(parentId);
    if (!refresher) {
      refresher = new Refresher(() => this.fetch(parentId), COLLECTION_REFRESH_MS);
      this.byId.set(parentId, refresher);
    }
    refresher.request();
  }

  stop(): void {
    for (const refresher of this.byId.values()) refresher.stop();
    this.byId.clear();
  }
}

function follow(socket: JobSocket, dispatch: (action: JobsAction) => void, current: () => JobsState): CollectionRefreshes {
  const fetching = new Set<string>();
  const collections = new CollectionRefreshes((jobId) => {
    snapshotOf(socket, jobId)
      .then((job) => job && dispatch({ type: "job", job }))
      .catch(() => undefined); // the next event asks again
  });
  const fetchJob = (jobId: string): void => {
    if (fetching.has(jobId) || !socket.connected) return;
    fetching.add(jobId);
    snapshotOf(socket, jobId)
      .then((job) => {
        if (!job) return;
        dispatch({ type: "job", job });
        if (job.parentId) collections.request(job.parentId);
      })
      .catch(() => undefined) // the next event or snapshot brings it
      .finally(() => fetching.delete(jobId));
  };
  const learn = (jobId: string): void => {
    if (needsSnapshot(current(), jobId)) fetchJob(jobId);
    const touched = collectionTouched(current(), jobId);
    if (touched !== null && touched !== jobId) collections.request(touched);
  };
  socket.on("progress", (event) => {
    dispatch({ type: "progress", event });
    learn(event.jobId);
  });
  socket.on("job-update", (event) => {
    const touched = collectionTouched(current(), event.jobId);
    dispatch({ type: "update", event });
    if (event.deleted) return;
    learn(event.jobId);
    if (touched === event.jobId) collections.request(touched); // a collection's own change
  });
  // The outcome events add to the status change; the snapshot brings the rest (sha256, meta).
  // A child's needs no snapshot of its own: its collection's list fetches what it shows.
  socket.on("completed", (event) => {
    dispatch({ type: "completed", event });
    if (current().parentOf[event.jobId] === undefined) fetchJob(event.jobId);
  });
  socket.on("failed", (event) => {
    dispatch({ type: "failed", event });
    if (current().parentOf[event.jobId] === undefined) fetchJob(event.jobId);
  });
  return collections;
}

export function useJobFeed() {
  const [state, dispatch] = useReducer(jobsReducer, initialJobs);
  const [connection, setConnection] = useState<Connection>("connecting");
  const stateRef = useRef(state);
  useEffect(() => {
    stateRef.current = state;
  }, [state]);

  useEffect(() => {
    const socket = openJobSocket();
    let live = false; // subscribed to the list feed on a connected socket
    let closed = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const poller = new Poller(async () => {
      try {
        const page = await listDownloads();
        if (live) return; // the socket came back while this poll was out
        dispatch({ type: "snapshot", jobs: page.items, nextCursor: page.nextCursor });
        setConnection("polling");
      } catch (error) {
        if (!live) setConnection("reconnecting");
        throw error;
      }
    }, POLL_INTERVAL_MS);

    const goLive = async (): Promise<void> => {
      try {
        const snapshot = await subscribeAll(socket);
        live = true;
        poller.stop();
        dispatch({ type: "snapshot", jobs: snapshot.jobs, nextCursor: snapshot.nextCursor });
        setConnection("live");
      } catch {
        // The socket is up but the list feed is not (jobstore unreachable): poll, and ask again soon.
        live = false;
        poller.start();
        retry = setTimeout(() => socket.connected && void goLive(), RETRY_MS);
      }
    };
    const goDown = (): void => {
      live = false;
      setConnection((now) => (now === "polling" ? now : "reconnecting"));
      poller.start();
    };

    const collections = follow(socket, dispatch, () => stateRef.current);
    socket.on("connect", () => void goLive());
    socket.on("resync", () => void goLive());
    socket.on("disconnect", goDown);
    socket.on("connect_error", (error) => {
      goDown();
      if (socket.active) return; // the manager retries a transport failure by itself
      // The namespace refused us: a missing or wrong token, or the server going away.
      const again = () => void (closed || socket.connect());
      if (isTokenRefusal(error)) askForToken().then(again, () => undefined);
      else retry = setTimeout(again, RETRY_MS);
    });
    socket.connect();

    return () => {
      closed = true;
      clearTimeout(retry);
      socket.off(); // before disconnecting, so leaving does not start the poller
      poller.stop();
      collections.stop();
      socket.disconnect();
    };
  }, []);

  return { state, dispatch, connection };
}
