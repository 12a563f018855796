/** Outcomes of the requests completed in one span of time: counts by status and latencies. */
import { percentile } from '../support/stats';

/** An HTTP status; `net`: no answer (refused, reset); `dropped`: an arrival the client never sent. */
export type Status = number | 'net' | 'dropped';

export class Window {
  requests = 0;
  readonly errors = new Map<Status, number>();
  private latencies: number[] = [];
  private sorted = true;

  record(status: Status, ms: number): void {
    this.requests += 1;
    this.latencies.push(ms);
    this.sorted = false;
    if (typeof status !== 'number' || status < 200 || status >= 300) {
      this.errors.set(status, (this.errors.get(status) ?? 0) + 1);
    }
  }

  /** An arrival skipped because too many requests were already waiting for an answer. */
  drop(): void {
    this.errors.set('dropped', (this.errors.get('dropped') ?? 0) + 1);
  }

  get errorCount(): number {
    let total = 0;
    for (const count of this.errors.values()) total += count;
    return total;
  }

  /** Answers of 5xx, requests that got no answer and arrivals that could not be sent. */
  get serverErrors(): number {
    let total = 0;
    for (const [status, count] of this.errors)
      if (typeof status !== 'number' || status >= 500) total += count;
    return total;
  }

  /** Latency percentile in ms, `p` in [0, 1]. */
  latency(p: number): number {
    if (!this.sorted) {
      this.latencies.sort((a, b) => a - b);
      this.sorted = true;
    }
    return percentile(this.latencies, p);
  }

  /** Adds `other` into this one (for the whole-run totals). */
  absorb(other: Window): void {
    this.requests += other.requests;
    for (const [status, count] of other.errors)
      this.errors.set(status, (this.errors.get(status) ?? 0) + count);
    for (const ms of other.latencies) this.latencies.push(ms);
    this.sorted = false;
  }

  /** "none" or e.g. "409×3 net×1". */
  describeErrors(): string {
    if (!this.errors.size) return 'none';
    return [...this.errors].map(([status, count]) => `${status}×${count}`).join(' ');
  }
}
