import { Spinner } from "./icons";

/** A form's submit button (a spinner while `busy`) and the polite line under it that says what the submit did. */
export function FormSubmit(props: { busy: boolean; label: string; notice: string }) {
  return (
    <>
      <button
        type="submit"
        disabled={props.busy}
        className="flex w-full items-center justify-center gap-2 rounded-xl bg-indigo-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm transition hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:opacity-60"
      >
        {props.busy && <Spinner />}
        {props.label}
      </button>
      <p role="status" aria-live="polite" className="-mt-1 text-center text-sm text-emerald-700 empty:-mt-4 dark:text-emerald-400">
        {props.notice}
      </p>
    </>
  );
}
