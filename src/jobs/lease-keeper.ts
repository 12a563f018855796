import type { Logger } from '@nestjs/common';
import type { RunningAttempt } from './job-runner';
import type { ClaimedJob, JobStore } from './job-store';
import type { JobMetrics } from './jobs.metrics';

const REAP_BATCH = 500;

/** What a worker holds leases on, and how it hears what the store said about them. */
export interface LeaseHolder {
  running(): Iterable<RunningAttempt>;
  /** Claimed jobs waiting in the local buffer: they show as running, so they hold leases too. */
  buffered(): readonly ClaimedJob[];
  /**
   * Attempts that ended but whose outcome is not written yet (the writer retries while the store
   * is down): their rows still say running, so their leases are renewed like running ones.
   */
  unwritten(): Iterable<{ id: string; leaseToken: string }>;
  /** Buffered jobs whose lease is gone (taken over): they must not start here. */
  dropBuffered(jobs: ClaimedJob[]): void;
  /** A cancel request for a buffered job, reported by a renewal. */
  cancelBuffered(jobId: string): void;
  /** Expired leases put jobs back in the queue. */
  requeued(): void;
  warnStore(what: string, error: unknown): void;
}

/**
 * Keeps a worker's leases (CONTRACT §5): renews them every third of JOBS_LEASE_SECONDS, writes
 * dirty progress at most once a second, tells running attempts when their lease was lost or a
 * cancel was requested, and reaps the leases other workers let expire.
 */
export class LeaseKeeper {
  private lastHeartbeat = Date.now();
  private touching = false;
  /** The last renewal failed (the store was unreachable): renew at the next tick, reap after. */
  private unconfirmed = false;

  constructor(
    private readonly store: JobStore,
    private readonly metrics: JobMetrics,
    private readonly leaseSeconds: number,
    private readonly holder: LeaseHolder,
    private readonly logger: Logger,
  ) {}

  /**
   * Called every second. Renews at every call while renewals fail, so that a store back from an
   * outage sees the leases before they run out. One renewal at a time: a store that does not
   * answer must not pile them up.
   */
  async renew(): Promise<void> {
    if (this.touching) return;
    const heartbeatDue =
      this.unconfirmed || Date.now() - this.lastHeartbeat >= (this.leaseSeconds * 1000) / 3;
    const attempts = [...this.holder.running()].filter((a) => heartbeatDue || a.progressDirty);
    const buffered = heartbeatDue ? [...this.holder.buffered()] : [];
    const unwritten = heartbeatDue ? [...this.holder.unwritten()] : [];
    if (attempts.length + buffered.length + unwritten.length === 0) {
      if (heartbeatDue) this.unconfirmed = false;
      return;
    }
    if (heartbeatDue) this.lastHeartbeat = Date.now();
    this.touching = true;
    const touches = [
      ...attempts.map((a) => {
        const touch = {
          id: a.job.id,
          leaseToken: a.job.leaseToken,
          progress: a.progressDirty ? a.progress : undefined,
          progressMessage: a.progressMessage,
        };
        a.progressDirty = false;
        return touch;
      }),
      ...buffered.map((job) => ({ id: job.id, leaseToken: job.leaseToken })),
      // A lost lease shows when the end is written (refused, counted there).
      ...unwritten,
    ];
    try {
      const held = await this.store.touch(touches, this.leaseSeconds);
      this.unconfirmed = false;
      for (const attempt of attempts) {
        const cancelRequested = held.get(`${attempt.job.id}/${attempt.job.leaseToken}`);
        if (cancelRequested === undefined && !attempt.reason) {
          this.metrics.staleWrite('heartbeat');
          attempt.abort('leaseLost');
        } else if (cancelRequested) attempt.abort('cancel');
      }
      const lost = buffered.filter((job) => !held.has(`${job.id}/${job.leaseToken}`));
      if (lost.length > 0) {
        this.metrics.staleWrite('heartbeat', lost.length);
        this.holder.dropBuffered(lost);
      }
      for (const job of buffered) {
        if (held.get(`${job.id}/${job.leaseToken}`) === true) this.holder.cancelBuffered(job.id);
      }
    } catch (error) {
      for (const attempt of attempts) attempt.progressDirty ||= attempt.progress !== undefined;
      this.unconfirmed = true;
      this.holder.warnStore('Renewing leases failed', error);
    } finally {
      this.touching = false;
    }
  }

  /** Returns jobs whose lease ran out (their worker died) to the queue, or fails them. */
  async reap(): Promise<void> {
    // After an outage this replica renews what it still holds before it reaps: its own leases
    // may have run out meanwhile, but their attempts are alive here and theirs to finish.
    if (this.unconfirmed) await this.renew();
    if (this.unconfirmed) return;
    try {
      for (;;) {
        const moves = await this.store.reapExpired(REAP_BATCH);
        for (const move of moves) {
          this.logger.warn(
            { jobId: move.id, status: move.status },
            'Lease expired: attempt returned (LEASE_EXPIRED)',
          );
          this.metrics.attemptEnded(move.type, 'lease_expired', 0);
          this.metrics.jobFinished(move.type, move.status);
        }
        if (moves.some((move) => move.status === 'queued')) this.holder.requeued();
        if (moves.length < REAP_BATCH) return;
      }
    } catch (error) {
      this.holder.warnStore('Reaping expired leases failed', error);
    }
  }
}
