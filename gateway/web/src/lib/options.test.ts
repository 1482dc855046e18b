import { describe, expect, it } from "vitest";
import { DEFAULT_CHOICES, optionsFor, urlLines } from "./options";

describe("urlLines", () => {
  it("takes one URL a line, trimmed, without blanks or repeats", () => {
    expect(urlLines(" https://a.example/1 \r\n\n https://b.example/2\nhttps://a.example/1\n  \n")).toEqual([
      "https://a.example/1",
      "https://b.example/2",
    ]);
  });
});

describe("optionsFor", () => {
  it("sends quality and container only for video", () => {
    const video = { ...DEFAULT_CHOICES, type: "video" as const, maxHeight: 720, container: "mkv" as const };
    expect(optionsFor(video)).toEqual({ maxHeight: 720, videoContainer: "mkv" });
    expect(optionsFor({ ...video, maxHeight: 0, container: "" })).toEqual({});
  });

  it("sends the format only for audio, and nothing for auto or file", () => {
    expect(optionsFor({ ...DEFAULT_CHOICES, type: "audio", audioFormat: "opus", maxHeight: 720 })).toEqual({
      audioFormat: "opus",
    });
    expect(optionsFor({ ...DEFAULT_CHOICES, type: "file", maxHeight: 720 })).toEqual({});
  });
});
