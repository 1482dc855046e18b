import { InboxIcon } from "./icons";

export function EmptyState({ filtered }: { filtered: string | null }) {
  return (
    <div className="rounded-2xl border border-dashed border-zinc-300 bg-white/50 px-6 py-14 text-center dark:border-zinc-700 dark:bg-zinc-900/40">
      <div className="mx-auto grid size-12 place-items-center rounded-2xl bg-indigo-50 text-indigo-600 dark:bg-indigo-500/10 dark:text-indigo-300">
        <InboxIcon className="size-6" />
      </div>
      {filtered ? (
        <>
          <h3 className="mt-4 font-semibold text-zinc-900 dark:text-zinc-100">Nothing {filtered}</h3>
          <p className="mt-1 text-sm text-zinc-500 dark:text-zinc-400">Choose “All” to see every download.</p>
        </>
      ) : (
        <>
          <h3 className="mt-4 font-semibold text-zinc-900 dark:text-zinc-100">No downloads yet</h3>
          <p className="mx-auto mt-1 max-w-sm text-sm text-zinc-500 dark:text-zinc-400">
            Paste a link under “Add downloads” (a video page, a stream or any file) and press Add. Progress shows
            up here as it happens, and finished files can be saved from here.
          </p>
        </>
      )}
    </div>
  );
}
