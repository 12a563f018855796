import type { RunningAttempt } from './job-runner';

/**
 * Aborts the attempts that run past their timeoutSeconds (CONTRACT §5) with one timer for them
 * all, set for the earliest deadline. A timer per attempt, set and cleared around each handler,
 * cost ~0.4 µs and a Timeout object per job on a drain of noop jobs. An attempt that ends leaves
 * the timer alone; when it fires it aborts what is past its deadline and is set for the next one.
 */
export class AttemptTimeouts {
  private timer?: NodeJS.Timeout;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(private readonly running: () => Iterable<RunningAttempt>) {}

  /** Called when an attempt starts. */
  watch(attempt: RunningAttempt): void {
    if (attempt.deadline < this.timerAt) this.setFor(attempt.deadline);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private setFor(at: number): void {
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.expire(), Math.max(0, at - performance.now()));
  }

  private expire(): void {
    this.stop();
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const attempt of this.running()) {
      if (attempt.reason) continue;
      if (attempt.deadline <= now) attempt.abort('timeout');
      else next = Math.min(next, attempt.deadline);
    }
    if (next !== Number.POSITIVE_INFINITY) this.setFor(next);
  }
}
