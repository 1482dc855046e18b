import { type FormEvent, useState } from "react";
import { createSubscription, type Subscription } from "../api/subscriptions";
import type { JobType } from "../api/types";
import { messageOf } from "../lib/errors";
import { DEFAULT_INTERVAL, INTERVALS } from "../lib/subscriptions";
import { FormSubmit } from "./FormSubmit";

const FIELD =
  "mt-1 block w-full rounded-lg border border-zinc-300 bg-white px-2.5 py-2 text-sm text-zinc-900 shadow-sm focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 focus:outline-none aria-invalid:border-rose-400 dark:border-zinc-700 dark:bg-zinc-950 dark:text-zinc-100";
const LABEL = "block text-xs font-medium text-zinc-600 dark:text-zinc-400";
const TYPES: readonly { value: JobType; label: string }[] = [
  { value: "auto", label: "Auto" },
  { value: "video", label: "Video" },
  { value: "audio", label: "Audio" },
];

/** Subscribe to a feed, channel or playlist: the server checks it now, then every interval. */
export function AddSubscription({ onAdded }: { onAdded: (subscription: Subscription) => void }) {
  const [url, setUrl] = useState("");
  const [type, setType] = useState<JobType>("auto");
  const [interval, setIntervalSeconds] = useState(DEFAULT_INTERVAL);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState("");
  const [notice, setNotice] = useState("");

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    setNotice("");
    if (!url.trim()) {
      setProblem("Paste the link of a feed, channel or playlist first.");
      return;
    }
    setBusy(true);
    setProblem("");
    try {
      const added = await createSubscription({ url: url.trim(), type, intervalSeconds: interval });
      onAdded(added);
      setUrl("");
      setNotice("Subscribed. The first check runs now.");
    } catch (error) {
      setProblem(messageOf(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section
      aria-labelledby="add-subscription-heading"
      className="rounded-2xl border border-zinc-200/80 bg-white p-4 shadow-sm sm:p-5 dark:border-zinc-800 dark:bg-zinc-900"
    >
      <h2 id="add-subscription-heading" className="text-base font-semibold text-zinc-900 dark:text-zinc-100">
        Add a subscription
      </h2>
      <form onSubmit={(e) => void submit(e)} className="mt-3 space-y-3" noValidate>
        <div>
          <label htmlFor="subscription-url" className={LABEL}>
            Feed, channel or playlist link
          </label>
          <input
            id="subscription-url"
            type="url"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            spellCheck={false}
            autoCapitalize="off"
            placeholder="https://example.com/podcast.rss"
            aria-invalid={problem !== ""}
            aria-describedby={problem ? "subscription-refused" : undefined}
            className={`${FIELD} font-mono`}
          />
          {problem && (
            <p id="subscription-refused" role="alert" className="mt-1.5 text-sm break-words text-rose-700 dark:text-rose-400">
              {problem}
            </p>
          )}
        </div>
        <div className="grid grid-cols-2 gap-3">
          <div>
            <label htmlFor="subscription-type" className={LABEL}>
              Type
            </label>
            <select id="subscription-type" value={type} onChange={(e) => setType(e.target.value as JobType)} className={FIELD}>
              {TYPES.map((t) => (
                <option key={t.value} value={t.value}>
                  {t.label}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="subscription-interval" className={LABEL}>
              Check every
            </label>
            <select id="subscription-interval" value={interval} onChange={(e) => setIntervalSeconds(Number(e.target.value))} className={FIELD}>
              {INTERVALS.map((i) => (
                <option key={i.seconds} value={i.seconds}>
                  {i.label}
                </option>
              ))}
            </select>
          </div>
        </div>
        <FormSubmit busy={busy} label={busy ? "Subscribing…" : "Subscribe"} notice={notice} />
      </form>
    </section>
  );
}
