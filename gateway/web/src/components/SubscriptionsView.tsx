import { useCallback, useEffect, useState } from "react";
import { listSubscriptions, type Subscription } from "../api/subscriptions";
import { Poller } from "../feed/poller";
import { messageOf } from "../lib/errors";
import { useNow } from "../lib/useNow";
import { AddSubscription } from "./AddSubscription";
import { RssIcon } from "./icons";
import { SubscriptionCard } from "./SubscriptionCard";

// Subscriptions change on the server's schedule, not the page's, and no event announces a
// check: while the view is shown, it asks again this often.
export const SUBSCRIPTIONS_POLL_MS = 3000;
// Enough pages for any sensible number of subscriptions; the list says when it stopped short.
const MAX_PAGES = 10;

async function allSubscriptions(): Promise<{ items: Subscription[]; complete: boolean }> {
  const items: Subscription[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const answer = await listSubscriptions(cursor);
    items.push(...answer.items);
    cursor = answer.nextCursor;
    if (!cursor) return { items, complete: true };
  }
  return { items, complete: false };
}

/** Add, list, pause or resume, check now and delete subscriptions; refreshed while shown. */
export function SubscriptionsView({ onShowJob }: { onShowJob: (jobId: string) => void }) {
  const [subscriptions, setSubscriptions] = useState<Subscription[] | null>(null);
  const [complete, setComplete] = useState(true);
  const [problem, setProblem] = useState("");
  const now = useNow(5000);

  const refresh = useCallback(async () => {
    if (document.hidden) return; // nobody is looking; the next tick after it shows catches up
    try {
      const answer = await allSubscriptions();
      setSubscriptions(answer.items);
      setComplete(answer.complete);
      setProblem("");
    } catch (error) {
      setProblem(messageOf(error));
    }
  }, []);

  useEffect(() => {
    const running = new Poller(refresh, SUBSCRIPTIONS_POLL_MS);
    running.start();
    const onVisible = () => !document.hidden && void refresh();
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      running.stop();
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [refresh]);

  const replace = (next: Subscription) =>
    setSubscriptions((now) => (now ?? []).map((s) => (s.id === next.id ? next : s)));
  const added = (next: Subscription) => setSubscriptions((now) => [next, ...(now ?? []).filter((s) => s.id !== next.id)]);
  const removed = (id: string) => setSubscriptions((now) => (now ?? []).filter((s) => s.id !== id));

  return (
    <div className="grid items-start gap-6 lg:grid-cols-[22rem_minmax(0,1fr)]">
      <div className="lg:sticky lg:top-6">
        <AddSubscription onAdded={added} />
      </div>
      <section aria-labelledby="subscriptions-heading" className="min-w-0">
        <h2 id="subscriptions-heading" className="mb-3 text-base font-semibold text-zinc-900 dark:text-zinc-100">
          Subscriptions <span className="font-normal text-zinc-400">{subscriptions?.length || ""}</span>
        </h2>
        {problem && (
          <p role="alert" className="mb-3 text-sm text-rose-600 dark:text-rose-400">
            {problem}
          </p>
        )}
        {subscriptions === null ? (
          <p className="text-sm text-zinc-500">{problem ? "" : "Loading…"}</p>
        ) : subscriptions.length === 0 ? (
          <div className="rounded-2xl border border-dashed border-zinc-300 bg-white/50 px-6 py-14 text-center dark:border-zinc-700 dark:bg-zinc-900/40">
            <div className="mx-auto grid size-12 place-items-center rounded-2xl bg-orange-50 text-orange-600 dark:bg-orange-500/10 dark:text-orange-300">
              <RssIcon className="size-6" />
            </div>
            <h3 className="mt-4 font-semibold text-zinc-900 dark:text-zinc-100">No subscriptions yet</h3>
            <p className="mx-auto mt-1 max-w-sm text-sm text-zinc-500 dark:text-zinc-400">
              Subscribe to a podcast feed, a channel or a playlist, and the server downloads its new entries as they
              appear. Each check shows up under Downloads as a collection.
            </p>
          </div>
        ) : (
          <ul className="space-y-3">
            {subscriptions.map((subscription) => (
              <SubscriptionCard
                key={subscription.id}
                subscription={subscription}
                now={now}
                onChanged={replace}
                onRemoved={removed}
                onChecked={() => void refresh()}
                onShowJob={onShowJob}
              />
            ))}
          </ul>
        )}
        {!complete && <p className="mt-3 text-xs text-zinc-500">Showing the first {subscriptions?.length} subscriptions.</p>}
      </section>
    </div>
  );
}
