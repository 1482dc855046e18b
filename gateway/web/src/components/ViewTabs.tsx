import { type KeyboardEvent, useRef } from "react";

export const VIEWS = { downloads: "Downloads", subscriptions: "Subscriptions" } as const;
export type View = keyof typeof VIEWS;

/** The page's views as tabs (WAI-ARIA tabs: arrow keys, Home and End move between them). */
export function ViewTabs({ view, onChange }: { view: View; onChange: (view: View) => void }) {
  const keys = Object.keys(VIEWS) as View[];
  const buttons = useRef<Record<string, HTMLButtonElement | null>>({});

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    const at = keys.indexOf(view);
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: keys.length - 1 }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    const next = keys[(to + keys.length) % keys.length] as View;
    onChange(next);
    buttons.current[next]?.focus();
  }

  return (
    <div role="tablist" aria-label="Views" onKeyDown={onKeyDown} className="flex rounded-lg bg-zinc-200/60 p-0.5 text-sm dark:bg-zinc-800/80">
      {keys.map((key) => (
        <button
          key={key}
          ref={(node) => {
            buttons.current[key] = node;
          }}
          type="button"
          role="tab"
          id={`tab-${key}`}
          aria-selected={view === key}
          aria-controls={`view-${key}`}
          tabIndex={view === key ? 0 : -1}
          onClick={() => onChange(key)}
          className="rounded-md px-3 py-1 font-medium text-zinc-600 transition aria-selected:bg-white aria-selected:text-zinc-900 aria-selected:shadow-sm focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-zinc-400 dark:aria-selected:bg-zinc-700 dark:aria-selected:text-zinc-50"
        >
          {VIEWS[key]}
        </button>
      ))}
    </div>
  );
}

/** The view named by the address's fragment (#subscriptions), so a reload or a link keeps it. */
export function viewFromHash(hash: string): View {
  const name = hash.replace(/^#/, "");
  return name in VIEWS ? (name as View) : "downloads";
}
