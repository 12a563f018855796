import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { appConfig, jobsConfig } from '@lib/config';
import { AttemptWriter } from './attempt-writer';
import { JobHandlerRegistry } from './job-handler-registry';
import { runAttempt, RunningAttempt } from './job-runner';
import { JobSignals } from './job-signals';
import { type AttemptEnd, type ClaimedJob, JobStore } from './job-store';
import { JobMetrics } from './jobs.metrics';

const TICK_MS = 1000;
const REAP_BATCH = 500;
/** The local buffer holds about this much work beyond the running jobs (see capacity). */
const BUFFER_TARGET_MS = 25;
const MAX_BUFFER = 1000;
const FLUSH_LIMIT_MS = 5000;

/**
 * The worker (CONTRACT §5): claims ready jobs in batches into a small local buffer, runs up to
 * JOBS_CONCURRENCY at once, keeps their leases alive, and hands finished attempts to a
 * coalescing writer. It wakes on NOTIFY or in-process signals and polls only as a fallback.
 * On shutdown it stops claiming, gives running jobs the grace period, then puts back what is
 * left without spending an attempt.
 */
@Injectable()
export class JobEngine implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly logger = new Logger(JobEngine.name);
  /**
   * Keyed by attempt (job id and lease token), not by job: a stale attempt whose handler ignores
   * its signal may still be running here when this worker claims the same job again.
   */
  private readonly running = new Map<string, RunningAttempt>();
  private readonly writer: AttemptWriter;
  private buffer: ClaimedJob[] = [];
  /** Types an admin paused (CONTRACT §5): not claimed, re-read every second and on a signal. */
  private paused = new Set<string>();
  /**
   * Attempts that ended but whose outcome is not written yet (the writer retries while the store
   * is down): their rows still say running, so their leases are renewed like running ones.
   */
  private readonly unwritten = new Map<string, { id: string; leaseToken: string }>();
  private claiming = false;
  private wakeAgain = false;
  private started = false;
  private stopping = false;
  private timers: NodeJS.Timeout[] = [];
  private wakeTimer?: { at: number; timer: NodeJS.Timeout };
  private lastHeartbeat = Date.now();
  private touching = false;
  /** The last lease renewal failed (the store was unreachable): renew at the next tick, reap after. */
  private leasesUnconfirmed = false;
  private lastStoreWarning = 0;
  private readonly waiters = new Set<() => void>();
  /** Moving average of handler run time; sizes the buffer. Starts as if jobs were slow (no buffer). */
  private avgRunMs = 1000;

  constructor(
    @Inject(jobsConfig.KEY) private readonly config: ConfigType<typeof jobsConfig>,
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
    private readonly store: JobStore,
    private readonly registry: JobHandlerRegistry,
    private readonly signals: JobSignals,
    private readonly metrics: JobMetrics,
  ) {
    this.writer = new AttemptWriter((ends) => this.store.finish(ends));
  }

  /**
   * Running plus buffered jobs. A buffered job is already claimed (it shows as running), so the
   * buffer is sized to about BUFFER_TARGET_MS of work: millisecond jobs are claimed hundreds at
   * a time and a finished slot refills without a round trip, while jobs that take a second or
   * more are claimed only for free slots, so none waits here while another replica is idle.
   */
  private get capacity(): number {
    const { concurrency } = this.config;
    const perSlot = BUFFER_TARGET_MS / Math.max(this.avgRunMs, 0.01);
    return concurrency + Math.min(MAX_BUFFER, Math.floor(concurrency * perSlot));
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.workerEnabled) {
      this.logger.log('Worker disabled (JOBS_WORKER_ENABLED=false): this replica only serves the API');
      return;
    }
    this.started = true;
    this.signals.onReady(() => this.wake());
    this.signals.onCancel((jobId) => this.cancelLocal(jobId));
    this.signals.onQueuesChanged(() => void this.refreshPaused());
    await this.signals.listen();
    const leaseMs = this.config.leaseSeconds * 1000;
    this.timers.push(
      setInterval(() => this.wake(), this.config.pollIntervalMs),
      setInterval(() => void this.maintainLeases(), TICK_MS),
      setInterval(() => void this.refreshPaused(), TICK_MS),
      setInterval(() => void this.reap(), Math.min(5000, Math.max(1000, leaseMs / 2))),
    );
    this.logger.log(
      `Worker ${this.workerId} started: concurrency ${this.config.concurrency}, types ${this.registry.types().join(', ')}`,
    );
    await this.refreshPaused();
    this.wake();
  }

  /** Looks for ready jobs now (coalesced: one claim loop at a time). */
  wake(): void {
    if (!this.started || this.stopping) return;
    if (this.claiming) {
      this.wakeAgain = true;
      return;
    }
    void this.fill();
  }

  private async fill(): Promise<void> {
    this.claiming = true;
    try {
      do {
        this.wakeAgain = false;
        // Counting unwritten ends keeps the rows marked running within capacity.
        const room = this.capacity - this.running.size - this.buffer.length - this.unwritten.size;
        const types = this.registry.types().filter((type) => !this.paused.has(type));
        if (room <= 0 || types.length === 0) break;
        const jobs = await this.store.claim(types, room, this.config.leaseSeconds, this.workerId);
        if (this.stopping) {
          await this.store.release(jobs);
          break;
        }
        this.buffer.push(...jobs);
        this.dispatch();
        // A full batch suggests more is ready. Otherwise only a wake-up that arrived during the
        // claim (a job committed after its snapshot) is worth another look.
        if (jobs.length === room) this.wakeAgain = true;
      } while (this.wakeAgain && !this.stopping);
    } catch (error) {
      this.warnStore('Claiming jobs failed', error);
    } finally {
      this.claiming = false;
      this.settled();
    }
  }

  private dispatch(): void {
    while (!this.stopping && this.running.size < this.config.concurrency && this.buffer.length > 0) {
      this.start(this.buffer.shift() as ClaimedJob);
    }
  }

  /**
   * Re-reads the paused types. Buffered jobs of a newly paused type go back to the queue (their
   * handlers never started); a resumed type is claimed at once. Running jobs are left to finish.
   */
  private async refreshPaused(): Promise<void> {
    let paused: Set<string>;
    try {
      paused = await this.store.pausedTypes();
    } catch (error) {
      return this.warnStore('Reading paused queues failed', error);
    }
    const resumed = [...this.paused].some((type) => !paused.has(type));
    this.paused = paused;
    const held = this.buffer.filter((job) => paused.has(job.type));
    if (held.length > 0) {
      this.buffer = this.buffer.filter((job) => !paused.has(job.type));
      await this.store
        .release(held)
        .catch((error: unknown) => this.warnStore('Releasing jobs failed', error));
    }
    if (resumed) this.wake();
  }

  /** A cancel request: aborts the running attempt, or hands a buffered job back (it ends cancelled). */
  private cancelLocal(jobId: string): void {
    for (const attempt of this.running.values()) if (attempt.job.id === jobId) attempt.abort('cancel');
    const buffered = this.buffer.filter((job) => job.id === jobId);
    if (buffered.length === 0) return;
    this.buffer = this.buffer.filter((job) => job.id !== jobId);
    void this.store
      .release(buffered)
      .catch((error: unknown) => this.warnStore('Releasing a job failed', error));
  }

  private start(job: ClaimedJob): void {
    const type = this.registry.get(job.type);
    if (!type) {
      void this.store.release([job]);
      return;
    }
    const attempt = new RunningAttempt(job);
    const key = `${job.id}/${job.leaseToken}`;
    this.running.set(key, attempt);
    this.metrics.attemptStarted(job.type, job.runAt, attempt.startedAt);
    const payload = this.registry.toHandlerPayload(type, job.payload);
    void runAttempt(type, payload, attempt, this.config.maxResultBytes, this.logger).then((end) => {
      this.running.delete(key);
      this.record(job, attempt, end);
      this.settled();
      this.dispatch();
      if (this.buffer.length < this.config.concurrency) this.wake();
    });
  }

  private record(job: ClaimedJob, attempt: RunningAttempt, end: AttemptEnd | null): void {
    if (!end) {
      this.logger.warn({ jobId: job.id }, 'Lease lost: the attempt was taken over; its outcome is dropped');
      return;
    }
    const runMs = end.finishedAt.getTime() - attempt.startedAt.getTime();
    // A deferral's zero run time says nothing about how long this type's jobs take.
    if (end.outcome !== 'deferred') this.avgRunMs = 0.9 * this.avgRunMs + 0.1 * runMs;
    this.metrics.attemptEnded(job.type, end.outcome, runMs);
    const key = `${job.id}/${job.leaseToken}`;
    this.unwritten.set(key, { id: job.id, leaseToken: job.leaseToken });
    void this.writer.add(end).then((move) => {
      this.unwritten.delete(key);
      this.wake();
      if (!move) {
        this.metrics.staleWrite('finish');
        this.logger.warn({ jobId: job.id, leaseToken: job.leaseToken }, 'Stale write refused (fenced)');
        return;
      }
      this.metrics.jobFinished(move.type, move.status);
      if (move.status === 'queued' && end.runAt) this.wakeAt(end.runAt);
    });
  }

  /**
   * Renews leases every third of the lease (at every tick while renewals fail, so that a store
   * back from an outage sees them before they run out) and writes dirty progress at most once a
   * second. One renewal at a time: a store that does not answer must not pile them up.
   */
  private async maintainLeases(): Promise<void> {
    if (this.touching) return;
    const heartbeatDue =
      this.leasesUnconfirmed || Date.now() - this.lastHeartbeat >= (this.config.leaseSeconds * 1000) / 3;
    const attempts = [...this.running.values()].filter((a) => heartbeatDue || a.progressDirty);
    const buffered = heartbeatDue ? this.buffer : [];
    const unwritten = heartbeatDue ? [...this.unwritten.values()] : [];
    if (attempts.length + buffered.length + unwritten.length === 0) {
      if (heartbeatDue) this.leasesUnconfirmed = false;
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
      const held = await this.store.touch(touches, this.config.leaseSeconds);
      this.leasesUnconfirmed = false;
      for (const attempt of attempts) {
        const cancelRequested = held.get(`${attempt.job.id}/${attempt.job.leaseToken}`);
        if (cancelRequested === undefined && !attempt.controller.signal.aborted) {
          this.metrics.staleWrite('heartbeat');
          attempt.abort('leaseLost');
        } else if (cancelRequested) attempt.abort('cancel');
      }
      const lost = buffered.filter((job) => !held.has(`${job.id}/${job.leaseToken}`));
      if (lost.length > 0) {
        this.metrics.staleWrite('heartbeat', lost.length);
        this.buffer = this.buffer.filter((job) => !lost.includes(job));
      }
      for (const job of buffered) {
        if (held.get(`${job.id}/${job.leaseToken}`) === true) this.cancelLocal(job.id);
      }
    } catch (error) {
      for (const attempt of attempts) attempt.progressDirty ||= attempt.progress !== undefined;
      this.leasesUnconfirmed = true;
      this.warnStore('Renewing leases failed', error);
    } finally {
      this.touching = false;
    }
  }

  private async reap(): Promise<void> {
    // After an outage this replica renews what it still holds before it reaps: its own leases
    // may have run out meanwhile, but their attempts are alive here and theirs to finish.
    if (this.leasesUnconfirmed) await this.maintainLeases();
    if (this.leasesUnconfirmed) return;
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
        if (moves.some((move) => move.status === 'queued')) this.wake();
        if (moves.length < REAP_BATCH) return;
      }
    } catch (error) {
      this.warnStore('Reaping expired leases failed', error);
    }
  }

  /** Wakes at `at` (a retry's or a delayed job's run time), keeping only the earliest timer. */
  wakeAt(at: Date): void {
    if (!this.started || this.stopping) return;
    const when = at.getTime();
    if (this.wakeTimer && this.wakeTimer.at <= when) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer.timer);
    const timer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.wake();
      },
      Math.max(0, when - Date.now()),
    );
    timer.unref();
    this.wakeTimer = { at: when, timer };
  }

  /**
   * The drain (CONTRACT §5): no new claims; buffered jobs go back at once; running ones get
   * SHUTDOWN_GRACE_SECONDS, then are aborted and put back as `interrupted` without spending an
   * attempt. Runs before the HTTP server and the store close.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.started || this.stopping) return;
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer.timer);
    await this.until(() => !this.claiming, Number.POSITIVE_INFINITY);
    const buffered = this.buffer;
    this.buffer = [];
    await this.store
      .release(buffered)
      .catch((error: unknown) => this.warnStore('Releasing jobs failed', error));
    const graceMs = this.app.shutdownGraceSeconds * 1000;
    if (this.running.size > 0) {
      this.logger.log(`Draining: waiting up to ${graceMs} ms for ${this.running.size} running job(s)`);
      // Leases must outlive the grace period, so heartbeats go on meanwhile.
      const heartbeat = setInterval(() => void this.maintainLeases(), TICK_MS);
      await this.until(() => this.running.size === 0, graceMs);
      for (const attempt of this.running.values()) attempt.abort('shutdown');
      await this.until(() => this.running.size === 0, Number.POSITIVE_INFINITY);
      clearInterval(heartbeat);
    }
    // A store that is down cannot take the last writes; their leases expire and the jobs run
    // again elsewhere (at-least-once), so the drain does not wait past the hard limit for it.
    await Promise.race([this.writer.flush(), new Promise((resolve) => setTimeout(resolve, FLUSH_LIMIT_MS))]);
    this.writer.close();
    this.logger.log('Worker drained');
  }

  private until(done: () => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (done()) finish();
      };
      const finish = (): void => {
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = Number.isFinite(timeoutMs) ? setTimeout(finish, timeoutMs) : undefined;
      this.waiters.add(check);
      check();
    });
  }

  /** Something the drain may be waiting for changed: a claim loop or an attempt ended. */
  private settled(): void {
    for (const check of [...this.waiters]) check();
  }

  private warnStore(what: string, error: unknown): void {
    // Once per 10 s: during an outage every tick fails the same way.
    if (Date.now() - this.lastStoreWarning < 10_000) return;
    this.lastStoreWarning = Date.now();
    this.logger.warn(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
