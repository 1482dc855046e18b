import type { ReactNode } from "react";

// Whole class names, so that Tailwind finds them in the source.
const TILE_TONES = {
  indigo: "bg-indigo-50 text-indigo-600 dark:bg-indigo-500/10 dark:text-indigo-300",
  violet: "bg-violet-50 text-violet-600 dark:bg-violet-500/10 dark:text-violet-300",
  orange: "bg-orange-50 text-orange-600 dark:bg-orange-500/10 dark:text-orange-300",
} as const;

/** The square that stands for what a card shows when it has no picture: a file's type, a collection, a feed. */
export function IconTile({ tone, children }: { tone: keyof typeof TILE_TONES; children: ReactNode }) {
  return <div className={`grid size-11 shrink-0 place-items-center rounded-xl ${TILE_TONES[tone]}`}>{children}</div>;
}

/**
 * A card's top row: its picture, its title (cut to one line, whole in the tooltip) with a badge
 * beside it, and one line about it (`children`; `about` is that line's tooltip).
 */
export function CardHeading(props: { art: ReactNode; title: string; badge: ReactNode; about?: string; children: ReactNode }) {
  return (
    <div className="flex items-start gap-3">
      {props.art}
      <div className="min-w-0 flex-1">
        <div className="flex items-start justify-between gap-3">
          <h3 className="min-w-0 truncate font-medium text-zinc-900 dark:text-zinc-50" title={props.title}>
            {props.title}
          </h3>
          {props.badge}
        </div>
        <p className="mt-0.5 truncate text-xs text-zinc-500 dark:text-zinc-400" title={props.about}>
          {props.children}
        </p>
      </div>
    </div>
  );
}
