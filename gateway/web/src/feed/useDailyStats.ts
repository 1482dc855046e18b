/**
 * The daily figures behind the page's summary (`GET /stats`). Fetched when the page opens,
 * when a job it follows completes or fails, and when the connection comes back after a break
 * (outcomes may have been missed meanwhile); at most once every REFRESH_GAP_MS, so a burst of
 * finishing jobs costs one request. The job list never waits for it. A failed request leaves
 * no figures, which hides the summary; a refused token goes through the page's one prompt in
 * api/rest, like every other request.
 */

import { useEffect, useRef, useState } from "react";
import { getStats } from "../api/rest";
import type { Stats } from "../api/types";
import { type JobsState, someJobFinished } from "../state/jobs";
import { Refresher } from "./refresher";
import type { Connection } from "./useJobFeed";

export const STATS_DAYS = 7;
const REFRESH_GAP_MS = 3000;

export function useDailyStats(jobs: JobsState, connection: Connection): Stats | null {
  const [stats, setStats] = useState<Stats | null>(null);
  const refresher = useRef<Refresher | null>(null);

  useEffect(() => {
    let latest = 0; // only the newest request's answer is shown
    let closed = false;
    const current = new Refresher(() => {
      const ticket = ++latest;
      const settle = (fresh: Stats | null): void => {
        if (!closed && ticket === latest) setStats(fresh?.totals ? fresh : null);
      };
      getStats(STATS_DAYS).then(settle, () => settle(null));
    }, REFRESH_GAP_MS);
    refresher.current = current;
    current.request();
    return () => {
      closed = true;
      current.stop();
      refresher.current = null;
    };
  }, []);

  const previousJobs = useRef(jobs);
  useEffect(() => {
    if (someJobFinished(previousJobs.current, jobs)) refresher.current?.request();
    previousJobs.current = jobs;
  }, [jobs]);

  const previousConnection = useRef(connection);
  useEffect(() => {
    const before = previousConnection.current;
    if (connection === "live" && (before === "reconnecting" || before === "polling")) refresher.current?.request();
    previousConnection.current = connection;
  }, [connection]);

  return stats;
}
