import { describe, expect, it } from "vitest";
import { explainFailure } from "./errors";

describe("explainFailure", () => {
  it("explains HTTP statuses in words and keeps the number", () => {
    expect(explainFailure("HTTP_404")).toBe("The site says there is nothing at this address. (HTTP 404)");
    expect(explainFailure("HTTP_503")).toBe("The site had a problem of its own. (HTTP 503)");
  });

  it("explains the worker's own codes and falls back for unknown ones", () => {
    expect(explainFailure("STALLED")).toMatch(/stopped making progress/);
    expect(explainFailure("ENTRY_REFUSED")).toMatch(/may not fetch/);
    expect(explainFailure("COLLECTION_UNREADABLE")).toMatch(/could not be read/);
    expect(explainFailure("SOMETHING_NEW")).toBe("The download failed.");
    expect(explainFailure(null)).toBe("The download failed.");
  });
});
