/** Runs a task now and then every `intervalMs` after it settles, until stopped. */
export class Poller {
  private timer: ReturnType<typeof setTimeout> | null = null;
  // Each start opens a new generation, so a tick still in flight from before a stop ends
  // its chain instead of running alongside the new one.
  private generation = 0;
  private running = false;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.generation += 1;
    void this.tick(this.generation);
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private async tick(generation: number): Promise<void> {
    await this.task().catch(() => undefined); // the task reports its own failures
    if (this.running && generation === this.generation) {
      this.timer = setTimeout(() => void this.tick(generation), this.intervalMs);
    }
  }
}
