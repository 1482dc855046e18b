import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Refresher } from "./refresher";

describe("Refresher", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runs the first request at once", () => {
    const task = vi.fn();
    new Refresher(task, 3000).request();
    vi.advanceTimersByTime(0);
    expect(task).toHaveBeenCalledTimes(1);
  });

  it("folds the requests made within the gap into one run when the gap ends", () => {
    const task = vi.fn();
    const refresher = new Refresher(task, 3000);
    refresher.request();
    vi.advanceTimersByTime(0);
    vi.advanceTimersByTime(1000);
    refresher.request();
    refresher.request();
    vi.advanceTimersByTime(1999);
    expect(task).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(task).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(10_000);
    expect(task).toHaveBeenCalledTimes(2);
  });

  it("runs at once again once the gap has passed", () => {
    const task = vi.fn();
    const refresher = new Refresher(task, 3000);
    refresher.request();
    vi.advanceTimersByTime(5000);
    refresher.request();
    vi.advanceTimersByTime(0);
    expect(task).toHaveBeenCalledTimes(2);
  });

  it("drops a waiting run when stopped", () => {
    const task = vi.fn();
    const refresher = new Refresher(task, 3000);
    refresher.request();
    vi.advanceTimersByTime(0);
    refresher.request();
    refresher.stop();
    vi.advanceTimersByTime(10_000);
    expect(task).toHaveBeenCalledTimes(1);
  });
});
