import { type Dispatch, type ReactNode, useState } from "react";
import { controlDownload, deleteDownload } from "../api/rest";
import type { ControlAction } from "../api/types";
import { allows, CONTROL_ACTIONS } from "../lib/actions";
import { useAction } from "../lib/useAction";
import type { JobsAction, JobView } from "../state/jobs";
import { ActionButton } from "./ActionButton";
import { ConfirmDialog } from "./ConfirmDialog";
import { PauseIcon, PlayIcon, RetryIcon, StopIcon, TrashIcon } from "./icons";

const LOOK: Record<ControlAction, { label: string; icon: ReactNode }> = {
  pause: { label: "Pause", icon: <PauseIcon /> },
  resume: { label: "Resume", icon: <PlayIcon /> },
  cancel: { label: "Cancel", icon: <StopIcon /> },
  retry: { label: "Retry", icon: <RetryIcon /> },
};

/** Pause, resume, cancel, retry (each only when the status allows) and delete (after asking). */
export function JobActions(props: { job: JobView; title: string; dispatch: Dispatch<JobsAction>; collection?: boolean }) {
  const { job, title, dispatch, collection = false } = props;
  const { busy, problem, run } = useAction();
  const [confirming, setConfirming] = useState(false);

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
