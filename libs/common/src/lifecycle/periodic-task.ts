/**
 * A maintenance loop: runs `task` every `everyMs`, never two runs at once, and logs a failure
 * instead of throwing (the next tick tries again). The timer does not keep the process alive;
 * stop() waits for a run in progress so shutdown does not cut a transaction short.
 */
export class PeriodicTask {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly name: string,
    private readonly task: () => Promise<unknown>,
    private readonly logger: { warn(message: string): void },
  ) {}

  start(everyMs: number): void {
    this.timer = setInterval(() => {
      this.running ??= this.task()
        .then(() => undefined)
        .catch((error: unknown) => this.logger.warn(`${this.name} failed: ${String(error)}`))
        .finally(() => (this.running = undefined));
    }, everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
