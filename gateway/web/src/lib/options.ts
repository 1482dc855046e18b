/**
 * What a person may choose when adding downloads: the server's whitelist
 * (`DownloadOptions` in gateway/rest.py; anything else is refused with 422).
 */

import type { AudioFormat, DownloadOptions, JobType, VideoContainer } from "../api/types";

export const JOB_TYPES: readonly { value: JobType; label: string; hint: string }[] = [
  { value: "auto", label: "Auto", hint: "The server looks at the link and picks" },
  { value: "video", label: "Video", hint: "Video with sound, from a page or a stream" },
  { value: "audio", label: "Audio", hint: "Only the sound, converted" },
  { value: "file", label: "File", hint: "Any file, as it is" },
];

/** `maxHeight`: the tallest frame wanted; 0 means the best there is. */
export const QUALITIES: readonly { value: number; label: string }[] = [
  { value: 0, label: "Best available" },
  { value: 2160, label: "2160p (4K)" },
  { value: 1440, label: "1440p" },
  { value: 1080, label: "1080p" },
  { value: 720, label: "720p" },
  { value: 480, label: "480p" },
  { value: 360, label: "360p" },
];

export const CONTAINERS: readonly VideoContainer[] = ["mp4", "mkv", "webm"];
export const AUDIO_FORMATS: readonly { value: AudioFormat; label: string }[] = [
  { value: "mp3", label: "MP3" },
  { value: "m4a", label: "M4A (AAC)" },
  { value: "opus", label: "Opus" },
];

export interface Choices {
  type: JobType;
  maxHeight: number;
  container: VideoContainer | "";
  audioFormat: AudioFormat;
}

export const DEFAULT_CHOICES: Choices = { type: "auto", maxHeight: 0, container: "", audioFormat: "mp3" };

/** Only the options that apply to the chosen type go to the server. */
export function optionsFor(choices: Choices): DownloadOptions {
  if (choices.type === "video") {
    return {
      ...(choices.maxHeight ? { maxHeight: choices.maxHeight } : {}),
      ...(choices.container ? { videoContainer: choices.container } : {}),
    };
  }
  if (choices.type === "audio") return { audioFormat: choices.audioFormat };
  return {};
}

/** One URL a line: blank lines dropped, surrounding spaces trimmed, repeats once. */
export function urlLines(text: string): string[] {
  const lines = text.split(/\r?\n/).map((line) => line.trim());
  return [...new Set(lines.filter((line) => line.length > 0))];
}
