import { useState } from "react";
import { messageOf } from "./errors";

/**
 * A card's actions, one at a time: `busy` while one runs (its buttons are disabled), and the
 * error of the last one, in words, in `problem` (cleared when the next one starts).
 */
export function useAction(): { busy: boolean; problem: string; run: (work: () => Promise<void>) => Promise<void> } {
  const [busy, setBusy] = useState(false);
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
  return { busy, problem, run };
}
