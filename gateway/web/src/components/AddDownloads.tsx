import { type FormEvent, type KeyboardEvent, useState } from "react";
import { createDownload } from "../api/rest";
import type { JobType } from "../api/types";
import { messageOf } from "../lib/errors";
import { type Choices, DEFAULT_CHOICES, optionsFor, urlLines } from "../lib/options";
import { DownloadChoices } from "./DownloadChoices";
import { FormSubmit } from "./FormSubmit";

interface Refusal {
  url: string;
  message: string;
}

/**
 * Paste one link or many (one a line) and add them. Each link is its own request, so the
 * accepted ones start at once; refused ones stay in the field with the server's reason.
 */
export function AddDownloads({ onAdded }: { onAdded: (id: string, url: string, type: JobType) => void }) {
  const [text, setText] = useState("");
  const [choices, setChoices] = useState<Choices>(DEFAULT_CHOICES);
  const [busy, setBusy] = useState(false);
  const [refusals, setRefusals] = useState<Refusal[]>([]);
  const [notice, setNotice] = useState("");
  const urls = urlLines(text);

  async function submit(event?: FormEvent) {
    event?.preventDefault();
    if (busy) return;
    setNotice("");
    if (urls.length === 0) {
      setRefusals([{ url: "", message: "Paste a link first, one per line." }]);
      return;
    }
    setBusy(true);
    const options = optionsFor(choices);
    const results = await Promise.allSettled(urls.map((url) => createDownload(url, choices.type, options)));
    const refused: Refusal[] = [];
    results.forEach((result, index) => {
      const url = urls[index] ?? "";
      if (result.status === "fulfilled") onAdded(result.value.jobId, url, choices.type);
      else refused.push({ url, message: messageOf(result.reason) });
    });
    const added = urls.length - refused.length;
    setRefusals(refused);
    setText(refused.map((r) => r.url).join("\n"));
    setNotice(added > 0 ? `Added ${added} download${added === 1 ? "" : "s"}.` : "");
    setBusy(false);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) void submit();
  }

  const invalid = refusals.length > 0;
  return (
    <section
      aria-labelledby="add-heading"
      className="rounded-2xl border border-zinc-200/80 bg-white p-4 shadow-sm sm:p-5 dark:border-zinc-800 dark:bg-zinc-900"
    >
      <h2 id="add-heading" className="text-base font-semibold text-zinc-900 dark:text-zinc-100">
        Add downloads
      </h2>
      <form onSubmit={(e) => void submit(e)} className="mt-3 space-y-4" noValidate>
        <div>
          <label htmlFor="urls" className="block text-xs font-medium text-zinc-600 dark:text-zinc-400">
            Links, one per line
          </label>
          <textarea
            id="urls"
            value={text}
            onChange={(e) => setText(e.target.value)}
            onKeyDown={onKeyDown}
            rows={4}
            spellCheck={false}
            autoCapitalize="off"
            autoCorrect="off"
            placeholder={"https://example.com/watch?v=…\nhttps://example.com/file.zip"}
            aria-invalid={invalid}
            aria-describedby={invalid ? "urls-refused" : "urls-hint"}
            className="mt-1 block w-full resize-y rounded-xl border border-zinc-300 bg-white px-3 py-2.5 font-mono text-sm text-zinc-900 shadow-sm placeholder:text-zinc-400 focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 focus:outline-none aria-invalid:border-rose-400 dark:border-zinc-700 dark:bg-zinc-950 dark:text-zinc-100 dark:placeholder:text-zinc-600"
          />
          {invalid ? (
            <ul id="urls-refused" role="alert" className="mt-2 space-y-1.5 text-sm text-rose-700 dark:text-rose-400">
              {refusals.map((refusal) => (
                <li key={refusal.url || "empty"} className="break-words">
                  {refusal.url && <span className="font-mono text-xs text-rose-600/80 dark:text-rose-400/80">{refusal.url}: </span>}
                  {refusal.message}
                </li>
              ))}
            </ul>
          ) : (
            <p id="urls-hint" className="mt-1.5 text-xs text-zinc-500 dark:text-zinc-400">
              Ctrl+Enter adds them too.
            </p>
          )}
        </div>
        <DownloadChoices choices={choices} onChange={setChoices} />
        <FormSubmit busy={busy} label={busy ? "Adding…" : urls.length > 1 ? `Add ${urls.length} downloads` : "Add download"} notice={notice} />
      </form>
    </section>
  );
}
