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
import { ConditionWaiter } from '@lib/common';
import { appConfig, jobsConfig } from '@lib/config';
import { MigrationStatus } from '@lib/database';
import { AttemptTimeouts } from './attempt-timeouts';
import { AttemptWriter } from './attempt-writer';
import { claimCapacity, expectedRunMs, MAX_BUFFERED_MS, nextClaim } from './claim-capacity';
import { JobHandlerRegistry } from './job-handler-registry';
import { runAttempt, RunningAttempt } from './job-runner';
import { JobSignals } from './job-signals';
import { type AttemptEnd, type ClaimedJob, type JobMove, JobStore } from './job-store';
import { JobMetrics } from './jobs.metrics';
import { LeaseKeeper } from './lease-keeper';

const TICK_MS = 1000;
const FLUSH_LIMIT_MS = 5000;
const RECHECK_MS = 250;

/** A free slot held for a job a submit is inserting already claimed (JobEngine.reserveSlot). */
export interface SlotReservation {
  workerId: string;
  leaseSeconds: number;
  /** The types this worker claims now: the job is taken only if none of these is ahead of it. */
  types: string[];
}

/**
 * The worker (CONTRACT §5): claims ready jobs in batches into a small local buffer
 * (claim-capacity.ts), runs up to JOBS_CONCURRENCY at once, keeps their leases alive
 * (lease-keeper.ts), and hands finished attempts to a coalescing writer. It wakes on NOTIFY or in-process signals and polls only as a fallback.
 * An idle worker also takes a new job straight from its submit (reserveSlot).
 * On shutdown it stops claiming, gives running jobs the grace period, then puts back what is
 * left without spending an attempt.
 */
@Injectable()
export class JobEngine implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly logger = new Logger(JobEngine.name);
  /**
   * By attempt, not by job: a stale attempt whose handler ignores its signal may still be running
   * here when this worker claims the same job again.
   */
  private readonly running = new Set<RunningAttempt>();
  private readonly writer: AttemptWriter;
  private readonly timeouts = new AttemptTimeouts(() => this.running);
  private readonly leases: LeaseKeeper;
  private buffer: ClaimedJob[] = [];
  /** Slots held for submits in flight (reserveSlot → settleSlot). */
  private reserved = 0;
  /** Types an admin paused (CONTRACT §5): not claimed, re-read every second and on a signal. */
  private paused = new Set<string>();
  /** Attempts that ended but whose outcome is not written yet (see LeaseHolder.unwritten). */
  private readonly unwritten = new Set<ClaimedJob>();
  private claiming = false;
  private wakeAgain = false;
  /**
   * When the last claim found fewer ready jobs than it had room for, with no wake-up (NOTIFY, a
   * local submit, the poll, a timer) since; 0 otherwise. Ended attempts then look again at most
   * every RECHECK_MS instead of twice per job each, which is what an idle worker spent most of its
   * store round trips on. They still look: a delayed job falling due sends no signal.
   */
  private drainedAt = 0;
  private recheck?: NodeJS.Timeout;
  private started = false;
  private stopping = false;
  private timers: NodeJS.Timeout[] = [];
  private wakeTimer?: { at: number; timer: NodeJS.Timeout };
  /** Set while jobs are buffered: for when the oldest of them has waited MAX_BUFFERED_MS. */
  private overdueTimer?: NodeJS.Timeout;
  /**
   * Store calls of the periodic tasks in flight (inBackground). None starts once the drain has
   * begun but the heartbeat's, whose timer the drain clears before it waits for these.
   */
  private readonly background = new Set<Promise<void>>();
  private lastStoreWarning = 0;
  /** What the drain waits for: a claim loop or an attempt ended. */
  private readonly waiters = new ConditionWaiter();
  /** Moving average of handler run time per type; sizes the buffer (claim-capacity.ts). */
  private readonly avgRunMs = new Map<string, number>();

  constructor(
    @Inject(jobsConfig.KEY) private readonly config: ConfigType<typeof jobsConfig>,
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
    private readonly store: JobStore,
    private readonly registry: JobHandlerRegistry,
    private readonly signals: JobSignals,
    private readonly metrics: JobMetrics,
    private readonly migrations: MigrationStatus,
  ) {
    this.writer = new AttemptWriter((ends) => this.store.finish(ends));
    this.leases = new LeaseKeeper(
      store,
      metrics,
      config.leaseSeconds,
      {
        running: () => this.running,
        buffered: () => this.buffer,
        unwritten: () => this.unwritten,
        dropBuffered: (lost) => (this.buffer = this.buffer.filter((job) => !lost.includes(job))),
        cancelBuffered: (jobId) => this.cancelLocal(jobId),
        requeued: () => this.wake(),
        warnStore: (what, error) => this.warnStore(what, error),
      },
      this.logger,
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.workerEnabled) {
      this.logger.log('Worker disabled (JOBS_WORKER_ENABLED=false): this replica only serves the API');
      return;
    }
    await this.migrations.onceApplied('the worker', () => this.startWorker());
  }

  private async startWorker(): Promise<void> {
    this.started = true;
    this.signals.onReady(() => this.wake());
    this.signals.onCancel((jobId) => this.cancelLocal(jobId));
    this.signals.onQueuesChanged(() => {
      if (!this.stopping) this.inBackground(() => this.refreshPaused());
    });
    await this.signals.listen();
    const leaseMs = this.config.leaseSeconds * 1000;
    this.timers.push(
      setInterval(() => this.wake(), this.config.pollIntervalMs),
      setInterval(() => this.inBackground(() => this.leases.renew()), TICK_MS),
      setInterval(() => this.inBackground(() => this.refreshPaused()), TICK_MS),
      setInterval(
        () => this.inBackground(() => this.leases.reap()),
        Math.min(5000, Math.max(1000, leaseMs / 2)),
      ),
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
    this.drainedAt = 0;
    if (this.claiming) {
      this.wakeAgain = true;
      return;
    }
    void this.fill();
  }

  /** Room freed by an ended attempt: claims more, or soon if the queue was just found empty. */
  private refill(): void {
    const wait = this.drainedAt + RECHECK_MS - Date.now();
    if (wait <= 0) return this.wake();
    this.recheck ??= setTimeout(() => {
      this.recheck = undefined;
      this.wake();
    }, wait);
  }

  private async fill(): Promise<void> {
    this.claiming = true;
    try {
      do {
        this.wakeAgain = false;
        // Counting unwritten ends keeps the rows marked running within capacity.
        const held = this.running.size + this.buffer.length + this.unwritten.size + this.reserved;
        const claimable = this.registry.types().filter((type) => !this.paused.has(type));
        const plan = nextClaim(this.config.concurrency, held, claimable, this.runTimes());
        if (!plan) break;
        const { types, limit: room } = plan;
        const jobs = await this.store.claim(types, room, this.config.leaseSeconds, this.workerId);
        if (this.stopping) {
          await this.store.release(jobs);
          break;
        }
        this.buffer.push(...jobs);
        this.dispatch();
        this.watchBuffer();
        // A full batch suggests more is ready. Otherwise only a wake-up that arrived during the
        // claim (a job committed after its snapshot) is worth another look.
        if (jobs.length === room) this.wakeAgain = true;
        else if (!this.wakeAgain) this.drainedAt = Date.now();
      } while (this.wakeAgain && !this.stopping);
    } catch (error) {
      this.warnStore('Claiming jobs failed', error);
    } finally {
      this.claiming = false;
      this.waiters.changed();
    }
  }

  /**
   * The submit fast path: when a job of `type` could start here at once and nothing waits in the
   * buffer, the submit may insert it already claimed by this worker, which saves the wake-up and
   * the claim's round trip between a submit and its start. The store still decides whether it is
   * taken (no ready job of these types may be ahead of it in claim order). Every reservation must
   * be settled, with the job if it was taken.
   */
  reserveSlot(type: string): SlotReservation | null {
    if (!this.started || this.stopping || this.buffer.length > 0) return null;
    if (this.paused.has(type) || !this.registry.get(type)) return null;
    const rows = this.running.size + this.unwritten.size + this.reserved;
    if (this.running.size + this.reserved >= this.config.concurrency) return null;
    if (rows >= claimCapacity(this.config.concurrency, this.runTimes()(type))) return null;
    this.reserved += 1;
    const types = this.registry.types().filter((claimable) => !this.paused.has(claimable));
    return { workerId: this.workerId, leaseSeconds: this.config.leaseSeconds, types };
  }

  /**
   * Starts the job the submit inserted claimed, if it did, and frees the slot. While draining it
   * only joins the buffer, which the drain puts back once no reservation is left.
   */
  settleSlot(job: ClaimedJob | null): void {
    if (job) {
      this.buffer.unshift(job);
      this.dispatch();
      this.watchBuffer();
    }
    this.reserved -= 1;
    this.waiters.changed();
  }

  private dispatch(): void {
    while (!this.stopping && this.running.size < this.config.concurrency && this.buffer.length > 0) {
      this.start(this.buffer.shift() as ClaimedJob);
    }
  }

  /** Each type's run time to size its buffer by (claim-capacity.ts, expectedRunMs). */
  private runTimes(): (type: string) => number | undefined {
    let youngest: number | undefined;
    if (this.running.size > 0) {
      let latest = 0;
      for (const { startedAt } of this.running) latest = Math.max(latest, startedAt.getTime());
      youngest = Date.now() - latest;
    }
    return (type) => expectedRunMs(this.avgRunMs.get(type), youngest);
  }

  /**
   * Buffered jobs start within milliseconds at their type's expected run time. When a type turns
   * slow after quick jobs sized the buffer, every slot is taken and the buffer stops moving: what
   * has waited MAX_BUFFERED_MS goes back to the queue, for another replica, a free slot here or a
   * job of higher priority to come first, and the type's buffer shrinks (runTimes).
   */
  private watchBuffer(): void {
    if (this.overdueTimer || this.stopping || this.buffer.length === 0) return;
    let oldest = Number.POSITIVE_INFINITY;
    for (const job of this.buffer) oldest = Math.min(oldest, job.claimedAt);
    this.overdueTimer = setTimeout(
      () => {
        this.overdueTimer = undefined;
        this.releaseOverdue();
      },
      Math.max(0, oldest + MAX_BUFFERED_MS - performance.now()),
    );
  }

  private releaseOverdue(): void {
    if (this.stopping) return;
    const due = performance.now() - MAX_BUFFERED_MS;
    const overdue = this.buffer.filter((job) => job.claimedAt <= due);
    if (overdue.length > 0) {
      this.buffer = this.buffer.filter((job) => job.claimedAt > due);
      this.inBackground(() =>
        this.store.release(overdue).then(
          () => undefined,
          (error: unknown) => this.warnStore('Releasing jobs failed', error),
        ),
      );
    }
    this.watchBuffer();
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
    for (const attempt of this.running) if (attempt.job.id === jobId) attempt.abort('cancel');
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
    this.running.add(attempt);
    this.timeouts.watch(attempt);
    // Ready since its run time, or since it was created when it was submitted with a past runAt:
    // a runAt of 2000 must not make one job look as if it had waited 26 years.
    const readySince = job.runAt > job.createdAt ? job.runAt : job.createdAt;
    this.metrics.attemptStarted(job.type, readySince, attempt.startedAt);
    const payload = this.registry.toHandlerPayload(type, job.payload);
    void runAttempt(type, payload, attempt, this.config.maxResultBytes, this.logger).then((end) => {
      this.running.delete(attempt);
      this.record(job, attempt, end);
      this.waiters.changed();
      this.dispatch();
      if (this.buffer.length < this.config.concurrency) this.refill();
    });
  }

  private record(job: ClaimedJob, attempt: RunningAttempt, end: AttemptEnd | null): void {
    if (!end) {
      this.logger.warn({ jobId: job.id }, 'Lease lost: the attempt was taken over; its outcome is dropped');
      return;
    }
    const runMs = end.finishedAt.getTime() - attempt.startedAt.getTime();
    // A deferral's zero run time says nothing about how long this type's jobs take.
    if (end.outcome !== 'deferred') {
      const avg = this.avgRunMs.get(job.type);
      this.avgRunMs.set(job.type, avg === undefined ? runMs : 0.9 * avg + 0.1 * runMs);
    }
    this.metrics.attemptEnded(job.type, end.outcome, runMs);
    this.unwritten.add(job);
    this.writer.add(end, (move) => this.written(job, end, move));
  }

  private written(job: ClaimedJob, end: AttemptEnd, move: JobMove | null): void {
    this.unwritten.delete(job);
    this.refill();
    if (!move) {
      this.metrics.staleWrite('finish');
      this.logger.warn({ jobId: job.id, leaseToken: job.leaseToken }, 'Stale write refused (fenced)');
      return;
    }
    this.metrics.jobFinished(move.type, move.status);
    if (move.status === 'queued' && end.runAt) this.wakeAt(end.runAt);
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
    clearTimeout(this.recheck);
    clearTimeout(this.overdueTimer);
    await this.waiters.until(() => !this.claiming && this.reserved === 0);
    const buffered = this.buffer;
    this.buffer = [];
    await this.store
      .release(buffered)
      .catch((error: unknown) => this.warnStore('Releasing jobs failed', error));
    const graceMs = this.app.shutdownGraceSeconds * 1000;
    if (this.running.size > 0) {
      this.logger.log(`Draining: waiting up to ${graceMs} ms for ${this.running.size} running job(s)`);
      // Leases must outlive the grace period, so heartbeats go on meanwhile.
      const heartbeat = setInterval(() => this.inBackground(() => this.leases.renew()), TICK_MS);
      await this.waiters.until(() => this.running.size === 0, graceMs);
      for (const attempt of this.running) attempt.abort('shutdown');
      await this.waiters.until(() => this.running.size === 0);
      clearInterval(heartbeat);
    }
    this.timeouts.stop();
    // A store that is down cannot take the last writes; their leases expire and the jobs run
    // again elsewhere (at-least-once), so the drain does not wait past the hard limit for it.
    // The same bounded wait as the grace period's, whose timer ends with it (a hand-made race
    // had left its 5 s timer keeping every stopped process alive).
    // The periodic tasks' store calls in flight are waited for too: the store's close cuts a
    // query short, which logged a warning after an unlucky clean shutdown.
    let flushed = false;
    void this.writer.flush().then(() => {
      flushed = true;
      this.waiters.changed();
    });
    await this.waiters.until(() => flushed && this.background.size === 0, FLUSH_LIMIT_MS);
    this.writer.close();
    this.logger.log('Worker drained');
  }

  /** Runs a periodic task's store work, which the drain waits for (the tasks report their own errors). */
  private inBackground(task: () => Promise<void>): void {
    const run: Promise<void> = task().finally(() => {
      this.background.delete(run);
      this.waiters.changed();
    });
    this.background.add(run);
  }

  private warnStore(what: string, error: unknown): void {
    // Once per 10 s: during an outage every tick fails the same way.
    if (Date.now() - this.lastStoreWarning < 10_000) return;
    this.lastStoreWarning = Date.now();
    this.logger.warn(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
