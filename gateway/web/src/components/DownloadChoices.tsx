import type { AudioFormat, JobType, VideoContainer } from "../api/types";
import { AUDIO_FORMATS, type Choices, CONTAINERS, JOB_TYPES, QUALITIES } from "../lib/options";

const FIELD =
  "mt-1 block w-full rounded-lg border border-zinc-300 bg-white px-2.5 py-2 text-sm text-zinc-900 shadow-sm focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 focus:outline-none dark:border-zinc-700 dark:bg-zinc-950 dark:text-zinc-100";
const LABEL = "block text-xs font-medium text-zinc-600 dark:text-zinc-400";

/** The type of download (a radio group, so arrow keys move through it) and its options. */
export function DownloadChoices({ choices, onChange }: { choices: Choices; onChange: (next: Choices) => void }) {
  const set = (patch: Partial<Choices>) => onChange({ ...choices, ...patch });
  const hint = JOB_TYPES.find((t) => t.value === choices.type)?.hint;
  return (
    <div className="space-y-3">
      <fieldset>
        <legend className={LABEL}>Type</legend>
        <div className="mt-1 grid grid-cols-4 gap-1 rounded-xl bg-zinc-100 p-1 dark:bg-zinc-800/70">
          {JOB_TYPES.map((type) => (
            <label
              key={type.value}
              title={type.hint}
              className="cursor-pointer rounded-lg px-2 py-1.5 text-center text-sm font-medium text-zinc-600 transition has-checked:bg-white has-checked:text-indigo-700 has-checked:shadow-sm has-focus-visible:outline-2 has-focus-visible:outline-indigo-500 dark:text-zinc-400 dark:has-checked:bg-zinc-700 dark:has-checked:text-white"
            >
              <input
                type="radio"
                name="type"
                value={type.value}
                checked={choices.type === type.value}
                onChange={() => set({ type: type.value as JobType })}
                className="sr-only"
              />
              {type.label}
            </label>
          ))}
        </div>
        <p className="mt-1.5 text-xs text-zinc-500 dark:text-zinc-400">{hint}</p>
      </fieldset>
      {choices.type === "video" && (
        <div className="grid grid-cols-2 gap-3">
          <label className={LABEL}>
            Quality
            <select value={choices.maxHeight} onChange={(e) => set({ maxHeight: Number(e.target.value) })} className={FIELD}>
              {QUALITIES.map((q) => (
                <option key={q.value} value={q.value}>
                  {q.label}
                </option>
              ))}
            </select>
          </label>
          <label className={LABEL}>
            Container
            <select
              value={choices.container}
              onChange={(e) => set({ container: e.target.value as VideoContainer | "" })}
              className={FIELD}
            >
              <option value="">As the site gives it</option>
              {CONTAINERS.map((c) => (
                <option key={c} value={c}>
                  {c.toUpperCase()}
                </option>
              ))}
            </select>
          </label>
        </div>
      )}
      {choices.type === "audio" && (
        <label className={LABEL}>
          Format
          <select
            value={choices.audioFormat}
            onChange={(e) => set({ audioFormat: e.target.value as AudioFormat })}
            className={FIELD}
          >
            {AUDIO_FORMATS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
        </label>
      )}
    </div>
  );
}
