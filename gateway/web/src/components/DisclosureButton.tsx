import { ChevronIcon } from "./icons";

/** The button that shows or hides a card's section (`controls` is that section's id). */
export function DisclosureButton(props: { label: string; open: boolean; controls: string; onToggle: () => void }) {
  return (
    <button
      type="button"
      aria-expanded={props.open}
      aria-controls={props.controls}
      onClick={props.onToggle}
      className="inline-flex items-center gap-1 rounded-lg px-2 py-1.5 text-sm font-medium text-zinc-600 hover:bg-zinc-100 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-zinc-300 dark:hover:bg-zinc-800"
    >
      {props.label}
      <ChevronIcon className={`size-4 transition-transform ${props.open ? "rotate-180" : ""}`} />
    </button>
  );
}
