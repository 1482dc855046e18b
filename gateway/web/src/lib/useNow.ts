import { useEffect, useState } from "react";

/** The time, renewed every `everyMs`, so "added 5 minutes ago" stays true without a change from the server. */
export function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
