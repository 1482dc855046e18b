import { describe, expect, it } from "vitest";
import { haulImagePath } from "./thumbnail";

describe("haulImagePath", () => {
  it("keeps the gateway's own thumbnail path", () => {
    const path = "/files/0b6d3f1c-8a52-4a4e-9b7e-3f1c2d4e5f60/thumbnail";
    expect(haulImagePath(path)).toBe(path);
  });

  it.each([
    null,
    undefined,
    "",
    "https://i.ytimg.com/vi/abc/hqdefault.jpg",
    "http://127.0.0.1:9464/metrics",
    "//evil.example/t.png",
    "/\\evil.example/t.png",
    "data:image/svg+xml,<svg/>",
    "javascript:alert(1)",
  ])("refuses %s", (href) => {
    expect(haulImagePath(href)).toBeNull();
  });
});
