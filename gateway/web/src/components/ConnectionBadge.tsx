import { type Connection, POLL_INTERVAL_MS } from "../feed/useJobFeed";

const LOOK: Record<Connection, { label: string; dot: string; hint: string }> = {
  connecting: { label: "Connecting", dot: "bg-zinc-400 animate-pulse", hint: "Opening the live connection" },
  live: { label: "Live", dot: "bg-emerald-500", hint: "Changes show as they happen" },
  reconnecting: {
    label: "Reconnecting",
    dot: "bg-amber-500 animate-pulse",
    hint: "The server cannot be reached right now; trying again",
  },
  polling: {
    label: "Polling",
    dot: "bg-sky-500",
    hint: `Live updates are interrupted; the list refreshes every ${POLL_INTERVAL_MS / 1000} s`,
  },
};

export function ConnectionBadge({ connection }: { connection: Connection }) {
  const look = LOOK[connection];
  return (
    <div
      role="status"
      aria-label={`Connection: ${look.label}. ${look.hint}`}
      title={look.hint}
      data-connection={connection}
      className="inline-flex shrink-0 items-center gap-2 rounded-full border border-zinc-200 bg-white/70 px-3 py-1.5 text-sm font-medium text-zinc-700 shadow-sm backdrop-blur dark:border-zinc-800 dark:bg-zinc-900/70 dark:text-zinc-200"
    >
      <span className="relative flex size-2.5">
        {connection === "live" && (
          <span className="absolute inline-flex size-full animate-ping rounded-full bg-emerald-400 opacity-60 motion-reduce:hidden" />
        )}
        <span className={`relative inline-flex size-2.5 rounded-full ${look.dot}`} />
      </span>
      {look.label}
    </div>
  );
}
