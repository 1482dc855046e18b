import { type MouseEvent, useState } from "react";
import { saveFileWithToken } from "../api/rest";
import { loadToken } from "../api/token";
import { formatBytes } from "../lib/format";
import { messageOf } from "../lib/errors";
import { DownloadIcon, Spinner } from "./icons";

interface Props {
  href: string;
  /** The name the browser saves it under when the page fetches it (with a token). */
  filename: string;
  /** What the link says; the size, when known, follows it. */
  label?: string;
  size?: number | null;
  /** A small link, for a row in a list. */
  compact?: boolean;
}

const LOOK = {
  full: "gap-2 rounded-lg bg-emerald-600 px-3 py-1.5 text-sm font-semibold text-white shadow-sm hover:bg-emerald-500 focus-visible:outline-offset-2 focus-visible:outline-emerald-600",
  compact:
    "gap-1 rounded-md px-1.5 py-1 text-xs font-medium text-emerald-700 hover:bg-emerald-50 focus-visible:outline-emerald-600 dark:text-emerald-400 dark:hover:bg-emerald-500/10",
};

export function DownloadLink({ href, filename, label = "Download", size, compact = false }: Props) {
  const [saving, setSaving] = useState(false);
  const [problem, setProblem] = useState("");

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
        className={`inline-flex items-center transition focus-visible:outline-2 ${compact ? LOOK.compact : LOOK.full}`}
      >
        {saving ? <Spinner className={compact ? "size-3.5" : "size-4"} /> : <DownloadIcon className={compact ? "size-3.5" : "size-4"} />}
        {label}
        {size !== undefined && size !== null && (
          <span className={compact ? "font-normal text-zinc-500 dark:text-zinc-400" : "font-normal text-emerald-100"}>
            {formatBytes(size)}
          </span>
        )}
      </a>
      {problem && (
        <span role="alert" className="text-xs text-rose-600 dark:text-rose-400">
          {problem}
        </span>
      )}
    </>
  );
}
