import { type MouseEvent, useState } from "react";
import { saveFileWithToken } from "../api/rest";
import { loadToken } from "../api/token";
import { formatBytes } from "../lib/format";
import { messageOf } from "../lib/errors";
import type { JobView } from "../state/jobs";
import { DownloadIcon, Spinner } from "./icons";

export function DownloadLink({ job, href }: { job: JobView; href: string }) {
  const [saving, setSaving] = useState(false);
  const [problem, setProblem] = useState("");
  const filename = job.filename ?? "download";

  function onClick(event: MouseEvent<HTMLAnchorElement>) {
    if (!loadToken()) return; // no token: the browser follows the link itself
    event.preventDefault();
    setSaving(true);
    setProblem("");
    saveFileWithToken(href, filename)
      .catch((error: unknown) => setProblem(messageOf(error)))
      .finally(() => setSaving(false));
  }

  return (
    <>
      <a
        href={href}
        download={filename}
        onClick={onClick}
        className="inline-flex items-center gap-2 rounded-lg bg-emerald-600 px-3 py-1.5 text-sm font-semibold text-white shadow-sm transition hover:bg-emerald-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-emerald-600"
      >
        {saving ? <Spinner /> : <DownloadIcon />}
        Download
        <span className="font-normal text-emerald-100">{formatBytes(job.size)}</span>
      </a>
      {problem && (
        <span role="alert" className="text-xs text-rose-600 dark:text-rose-400">
          {problem}
        </span>
      )}
    </>
  );
}
