/**
 * Runs a task when asked, but at most once every `gapMs`: a request that comes sooner waits
 * until the gap has passed, and every request made meanwhile shares that one run.
 */
export class Refresher {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastRun = -Infinity;

  constructor(
    private readonly task: () => void,
    private readonly gapMs: number,
  ) {}

  request(): void {
    if (this.timer !== null) return;
    const wait = Math.max(0, this.lastRun + this.gapMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.lastRun = Date.now();
      this.task();
    }, wait);
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
