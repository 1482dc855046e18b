import { explainFailure } from "../lib/errors";
import type { JobView } from "../state/jobs";

/** Why a job failed: plain words first, then the code and the tool's own message. */
export function FailureNote({ job }: { job: JobView }) {
  return (
    <div className="mt-3 rounded-xl border border-rose-200 bg-rose-50 px-3 py-2.5 text-sm dark:border-rose-500/20 dark:bg-rose-500/10">
      <p className="font-medium text-rose-800 dark:text-rose-200">{explainFailure(job.errorCode)}</p>
      {(job.errorCode || job.errorMessage) && (
        <p className="mt-1 line-clamp-3 break-words text-xs text-rose-700/80 dark:text-rose-300/80">
          {job.errorCode && (
            <code className="mr-1.5 rounded bg-rose-100 px-1 py-0.5 font-mono text-[0.7rem] text-rose-800 dark:bg-rose-500/20 dark:text-rose-200">
              {job.errorCode}
            </code>
          )}
          {job.errorMessage}
        </p>
      )}
    </div>
  );
}
