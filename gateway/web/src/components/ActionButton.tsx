import type { ReactNode } from "react";

/** A square icon button of a card's actions, named by its label (which is also its tooltip). */
export function ActionButton(props: { label: string; icon: ReactNode; disabled: boolean; danger?: boolean; onClick: () => void }) {
  const tone = props.danger
    ? "hover:bg-rose-50 hover:text-rose-600 dark:hover:bg-rose-500/10 dark:hover:text-rose-400"
    : "hover:bg-zinc-100 hover:text-zinc-900 dark:hover:bg-zinc-800 dark:hover:text-zinc-100";
  return (
    <button
      type="button"
      aria-label={props.label}
      title={props.label}
      disabled={props.disabled}
      onClick={props.onClick}
      className={`grid size-9 place-items-center rounded-lg text-zinc-500 transition focus-visible:outline-2 focus-visible:outline-indigo-500 disabled:cursor-not-allowed disabled:opacity-30 disabled:hover:bg-transparent dark:text-zinc-400 ${tone}`}
    >
      {props.icon}
    </button>
  );
}
