import { type Dispatch, type ReactNode, useState } from "react";
import { controlDownload, deleteDownload } from "../api/rest";
import type { ControlAction } from "../api/types";
import { allows, CONTROL_ACTIONS } from "../lib/actions";
import { messageOf } from "../lib/errors";
import type { JobsAction, JobView } from "../state/jobs";
import { ConfirmDialog } from "./ConfirmDialog";
import { PauseIcon, PlayIcon, RetryIcon, StopIcon, TrashIcon } from "./icons";

const LOOK: Record<ControlAction, { label: string; icon: ReactNode }> = {
  pause: { label: "Pause", icon: <PauseIcon /> },
  resume: { label: "Resume", icon: <PlayIcon /> },
  cancel: { label: "Cancel", icon: <StopIcon /> },
  retry: { label: "Retry", icon: <RetryIcon /> },
};

function ActionButton(props: { label: string; icon: ReactNode; disabled: boolean; danger?: boolean; onClick: () => void }) {
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

/** Pause, resume, cancel, retry (each only when the status allows) and delete (after asking). */
export function JobActions(props: { job: JobView; title: string; dispatch: Dispatch<JobsAction>; collection?: boolean }) {
  const { job, title, dispatch, collection = false } = props;
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [problem, setProblem] = useState("");

  async function run(work: () => Promise<void>) {
    setBusy(true);
    setProblem("");
    try {
      await work();
    } catch (error) {
      setProblem(messageOf(error));
    } finally {
      setBusy(false);
    }
  }

  const control = (action: ControlAction) =>
    run(async () => dispatch({ type: "job", job: await controlDownload(job.id, action) }));
  const remove = () =>
    run(async () => {
      await deleteDownload(job.id);
      dispatch({ type: "removed", id: job.id });
    });

  return (
    <div className="flex flex-col items-end gap-1">
      <div role="group" aria-label={`Actions for ${title}`} className="flex items-center gap-0.5">
        {CONTROL_ACTIONS.map((action) => (
          <ActionButton
            key={action}
            {...LOOK[action]}
            disabled={busy || job.placeholder === true || !allows(action, job.status)}
            onClick={() => void control(action)}
          />
        ))}
        <ActionButton label="Delete" icon={<TrashIcon />} danger disabled={busy} onClick={() => setConfirming(true)} />
      </div>
      {problem && (
        <p role="alert" className="text-right text-xs text-rose-600 dark:text-rose-400">
          {problem}
        </p>
      )}
      <ConfirmDialog
        open={confirming}
        title={collection ? "Delete this collection?" : "Delete this download?"}
        confirmLabel="Delete"
        onConfirm={() => void remove()}
        onClose={() => setConfirming(false)}
      >
        {collection
          ? "The collection, every entry's job and all their files are removed from the server. Running downloads are stopped."
          : "The job, its history and its file are removed from the server. A running download is stopped."}
      </ConfirmDialog>
    </div>
  );
}
