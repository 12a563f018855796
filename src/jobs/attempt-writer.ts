import { Logger } from '@nestjs/common';
import { isRejectedStatement } from '@lib/database';
import type { AttemptEnd, JobMove } from './job-store';

/** Most attempt ends one statement carries; big enough to amortise the round trip. */
const MAX_BATCH = 500;
/** How long the first end of a batch waits for company; short next to any handler. */
const COALESCE_MS = 2;
const RETRY_MS = { first: 100, max: 5000 };

type Write = (ends: AttemptEnd[]) => Promise<JobMove[]>;
/** Told once the end is written: the job's move, or null when the write was fenced off. */
export type Written = (move: JobMove | null) => void;

/**
 * Coalesces finished attempts into batched writes (one statement per batch, see JobStore.finish).
 * One batch is in flight at a time; ends that arrive meanwhile form the next one, so the batch
 * size follows the load. When the store is down the batch is retried with backoff: the ends are
 * fenced, so a write that lands after its lease was taken over is refused, never applied. A batch
 * the store refuses for its content is split, so that one unwritable end cannot hold back the
 * others forever; that end is dropped (resolved null) and its job runs again once its lease
 * expires, like any attempt whose worker died.
 */
export class AttemptWriter {
  private readonly logger = new Logger(AttemptWriter.name);
  private pending: { end: AttemptEnd; done: Written }[] = [];
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<void>;
  private closed = false;

  constructor(private readonly write: Write) {}

  /**
   * Queues an end; `done` is called once it is written. A callback, not a promise: a promise and
   * its continuation per end were a measurable share of a noop job's worker CPU.
   */
  add(end: AttemptEnd, done: Written): void {
    if (this.closed) return done(null);
    this.pending.push({ end, done });
    if (this.pending.length >= MAX_BATCH) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), COALESCE_MS);
  }

  get size(): number {
    return this.pending.length;
  }

  /** Writes everything pending now (shutdown). */
  async flush(): Promise<void> {
    while (this.pending.length > 0 || this.inFlight) {
      this.kick();
      await this.inFlight;
    }
  }

  /**
   * After the drain: pending and later ends are dropped (resolved null) and retries stop. Their
   * jobs keep their leases until these expire, then run again (at-least-once).
   */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const item of this.pending.splice(0)) item.done(null);
  }

  private kick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight || this.pending.length === 0) return;
    this.inFlight = this.drain().finally(() => {
      this.inFlight = undefined;
      if (this.pending.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    const batch = this.pending.splice(0, MAX_BATCH);
    const moves = await this.writeWithRetry(batch.map((item) => item.end));
    // A job moves at most once per batch: its row has one lease token, and the move ends it.
    const byJob = new Map(moves.map((move) => [move.id, move]));
    for (const item of batch) {
      const move = byJob.get(item.end.id);
      // By attempt, not by job: a stale and a live attempt of one job may share a batch.
      item.done(move?.leaseToken === item.end.leaseToken ? move : null);
    }
  }

  private async writeWithRetry(ends: AttemptEnd[]): Promise<JobMove[]> {
    for (let delay = RETRY_MS.first; !this.closed; delay = Math.min(delay * 2, RETRY_MS.max)) {
      try {
        return await this.write(ends);
      } catch (error) {
        if (isRejectedStatement(error)) return this.writeOneByOne(ends, error);
        this.logger.warn(
          `Recording ${ends.length} attempt(s) failed, retrying in ${delay} ms: ${String(error)}`,
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    return [];
  }

  private async writeOneByOne(ends: AttemptEnd[], error: unknown): Promise<JobMove[]> {
    if (ends.length === 1) {
      const [{ id, leaseToken }] = ends;
      this.logger.error({ jobId: id, leaseToken, err: error }, 'The store refused an attempt end; dropped');
      return [];
    }
    const moves: JobMove[] = [];
    for (const end of ends) moves.push(...(await this.writeWithRetry([end])));
    return moves;
  }
}
