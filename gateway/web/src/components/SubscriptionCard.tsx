import { type ReactNode, useState } from "react";
import { checkSubscription, deleteSubscription, setSubscriptionEnabled, type Subscription } from "../api/subscriptions";
import { formatRelative, formatTimestamp, hostOf, MISSING } from "../lib/format";
import { intervalText, nextCheckText } from "../lib/subscriptions";
import { useAction } from "../lib/useAction";
import { ActionButton } from "./ActionButton";
import { CardHeading, IconTile } from "./CardHeading";
import { ConfirmDialog } from "./ConfirmDialog";
import { PauseIcon, PlayIcon, RetryIcon, RssIcon, TrashIcon } from "./icons";

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs text-zinc-500 dark:text-zinc-400">{label}</dt>
      <dd className="truncate text-sm text-zinc-800 dark:text-zinc-200">{children}</dd>
    </div>
  );
}

function When({ iso, now }: { iso: string | null; now: number }) {
  return iso ? (
    <time dateTime={iso} title={formatTimestamp(iso)}>
      {formatRelative(iso, now)}
    </time>
  ) : (
    <>{MISSING}</>
  );
}

/** One subscription: its schedule, its last check and that check's error; pause, resume, check now, delete. */
export function SubscriptionCard(props: {
  subscription: Subscription;
  now: number;
  onChanged: (subscription: Subscription) => void;
  onRemoved: (id: string) => void;
  onChecked: () => void;
  /** Show a job (the last check's collection) in the Downloads view. */
  onShowJob: (jobId: string) => void;
}) {
  const { subscription: sub, now, onChanged, onRemoved, onChecked, onShowJob } = props;
  const action = useAction();
  const { busy, problem } = action;
  const [confirming, setConfirming] = useState(false);
  const [notice, setNotice] = useState("");
  const title = sub.title || sub.url;

  function run(work: () => Promise<void>) {
    setNotice("");
    return action.run(work);
  }

  const toggle = () => run(async () => onChanged(await setSubscriptionEnabled(sub.id, !sub.enabled)));
  const check = () =>
    run(async () => {
      await checkSubscription(sub.id);
      setNotice("Checking now.");
      onChecked();
    });
  const remove = () =>
    run(async () => {
      await deleteSubscription(sub.id);
      onRemoved(sub.id);
    });

  return (
    <li
      data-subscription-id={sub.id}
      data-enabled={String(sub.enabled)}
      aria-label={title}
      className="rounded-2xl border border-zinc-200/80 bg-white p-4 shadow-sm shadow-zinc-900/[0.03] sm:p-5 dark:border-zinc-800 dark:bg-zinc-900 dark:shadow-none"
    >
      <CardHeading
        art={
          <IconTile tone="orange">
            <RssIcon className="size-5" />
          </IconTile>
        }
        title={title}
        badge={
          <span
            data-testid="enabled"
            className={`inline-flex shrink-0 items-center rounded-full px-2.5 py-0.5 text-xs font-semibold ring-1 ring-inset ${
              sub.enabled
                ? "bg-emerald-50 text-emerald-700 ring-emerald-300/60 dark:bg-emerald-500/15 dark:text-emerald-300 dark:ring-emerald-500/30"
                : "bg-amber-50 text-amber-800 ring-amber-300/60 dark:bg-amber-500/15 dark:text-amber-300 dark:ring-amber-500/30"
            }`}
          >
            {sub.enabled ? "Active" : "Paused"}
          </span>
        }
        about={sub.url}
      >
        {hostOf(sub.url)} · {sub.type} · {intervalText(sub.intervalSeconds)}
      </CardHeading>
      <dl className="mt-3 grid grid-cols-2 gap-3">
        <Field label="Last check">
          {sub.lastCheckedAt ? <When iso={sub.lastCheckedAt} now={now} /> : "not yet"}
        </Field>
        <Field label="Next check">
          <span data-testid="next-check">{nextCheckText(sub.enabled, sub.nextCheckAt, now, (iso) => formatRelative(iso, now))}</span>
        </Field>
      </dl>
      {sub.lastError && (
        <div data-testid="last-error" className="mt-3 rounded-xl border border-rose-200 bg-rose-50 px-3 py-2.5 text-sm dark:border-rose-500/20 dark:bg-rose-500/10">
          <p className="font-medium text-rose-800 dark:text-rose-200">The last check failed</p>
          <p className="mt-1 line-clamp-3 text-xs break-words text-rose-700/80 dark:text-rose-300/80">{sub.lastError}</p>
        </div>
      )}
      <div className="mt-3 flex flex-wrap items-center justify-between gap-2">
        <div className="flex items-center gap-2">
          {sub.lastJobId && (
            <button
              type="button"
              onClick={() => sub.lastJobId && onShowJob(sub.lastJobId)}
              className="rounded-lg px-2 py-1.5 text-sm font-medium text-indigo-600 hover:bg-indigo-50 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-indigo-400 dark:hover:bg-indigo-500/10"
            >
              Show the last check
            </button>
          )}
          <p role="status" aria-live="polite" className="text-xs text-emerald-700 dark:text-emerald-400">
            {notice}
          </p>
        </div>
        <div className="flex flex-col items-end gap-1">
          <div role="group" aria-label={`Actions for ${title}`} className="flex items-center gap-0.5">
            {sub.enabled ? (
              <ActionButton label="Pause" icon={<PauseIcon />} disabled={busy} onClick={() => void toggle()} />
            ) : (
              <ActionButton label="Resume" icon={<PlayIcon />} disabled={busy} onClick={() => void toggle()} />
            )}
            <ActionButton label="Check now" icon={<RetryIcon />} disabled={busy} onClick={() => void check()} />
            <ActionButton label="Delete" icon={<TrashIcon />} danger disabled={busy} onClick={() => setConfirming(true)} />
          </div>
          {problem && (
            <p role="alert" className="text-right text-xs text-rose-600 dark:text-rose-400">
              {problem}
            </p>
          )}
        </div>
      </div>
      <ConfirmDialog
        open={confirming}
        title="Delete this subscription?"
        confirmLabel="Delete"
        onConfirm={() => void remove()}
        onClose={() => setConfirming(false)}
      >
        The server stops checking it. What it downloaded already stays in the list.
      </ConfirmDialog>
    </li>
  );
}
