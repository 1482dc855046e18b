import { type FormEvent, useEffect, useRef, useState } from "react";
import { setTokenPrompt } from "../api/token";
import { KeyIcon } from "./icons";

interface Question {
  rejected: boolean;
  answer: (token: string) => void;
}

/** Asks for the API token when the server wants one; the page cannot work without it. */
export function TokenDialog() {
  const [question, setQuestion] = useState<Question | null>(null);
  const [token, setToken] = useState("");
  const dialog = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    setTokenPrompt((rejected) => new Promise((answer) => setQuestion({ rejected, answer })));
    return () => setTokenPrompt(null);
  }, []);

  useEffect(() => {
    const node = dialog.current;
    if (question && node && !node.open) node.showModal();
    if (!question && node?.open) node.close();
  }, [question]);

  function submit(event: FormEvent) {
    event.preventDefault();
    const value = token.trim();
    if (!value || !question) return;
    question.answer(value);
    setQuestion(null);
    setToken("");
  }

  return (
    <dialog
      ref={dialog}
      onCancel={(e) => e.preventDefault()}
      aria-labelledby="token-title"
      className="m-auto w-[min(26rem,calc(100vw-2rem))] rounded-2xl border border-zinc-200 bg-white p-0 text-zinc-900 shadow-2xl backdrop:bg-zinc-950/60 backdrop:backdrop-blur-sm dark:border-zinc-800 dark:bg-zinc-900 dark:text-zinc-100"
    >
      <form onSubmit={submit} className="p-5">
        <div className="flex items-center gap-3">
          <div className="grid size-10 place-items-center rounded-xl bg-indigo-50 text-indigo-600 dark:bg-indigo-500/10 dark:text-indigo-300">
            <KeyIcon className="size-5" />
          </div>
          <h2 id="token-title" className="text-base font-semibold">
            This server needs an API token
          </h2>
        </div>
        <p className="mt-3 text-sm text-zinc-600 dark:text-zinc-400">
          {question?.rejected
            ? "That token was not accepted. Check it and enter it again."
            : "Enter the token the server was started with (HAUL_API_TOKEN). This browser remembers it."}
        </p>
        <label htmlFor="api-token" className="mt-4 block text-xs font-medium text-zinc-600 dark:text-zinc-400">
          API token
        </label>
        <input
          id="api-token"
          type="password"
          autoComplete="off"
          autoFocus
          value={token}
          onChange={(e) => setToken(e.target.value)}
          className="mt-1 block w-full rounded-lg border border-zinc-300 bg-white px-3 py-2 font-mono text-sm shadow-sm focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 focus:outline-none dark:border-zinc-700 dark:bg-zinc-950"
        />
        <button
          type="submit"
          className="mt-4 w-full rounded-xl bg-indigo-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600"
        >
          Continue
        </button>
      </form>
    </dialog>
  );
}
