import { Module } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';
import { type HandlesJob, type JobContext, JobHandler, type JobInfo } from '../../src/jobs/job-handler';
import { NonRetryableJobError } from '../../src/jobs/job-failure';

/**
 * Job types that only tests register (startTestApp({ imports: [TestHandlersModule] })). What
 * they observe is kept in process-wide maps, so several app instances in one test file (several
 * "replicas") report into the same place.
 */
export const observed = {
  /** job id → how many times a handler was invoked for it. */
  invocations: new Map<string, number>(),
  /** job id → the Date.now() of each invocation, in order. */
  startTimes: new Map<string, number[]>(),
  /** job id → the signal reason's kind when the handler saw its signal fire. */
  aborts: new Map<string, string>(),
  /** job id → a release function while a `gate` job waits. */
  gates: new Map<string, () => void>(),
  /** job id → the job as its handler's context last showed it. */
  jobs: new Map<string, JobInfo>(),
  reset(): void {
    this.jobs.clear();
    this.invocations.clear();
    this.startTimes.clear();
    this.aborts.clear();
    this.gates.clear();
  },
};

function see(job: JobInfo, signal: AbortSignal): void {
  const jobId = job.id;
  observed.jobs.set(jobId, job);
  observed.invocations.set(jobId, (observed.invocations.get(jobId) ?? 0) + 1);
  observed.startTimes.set(jobId, [...(observed.startTimes.get(jobId) ?? []), Date.now()]);
  signal.addEventListener('abort', () => {
    observed.aborts.set(jobId, (signal.reason as { kind?: string }).kind ?? 'unknown');
  });
}

export class CountingPayload {
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(60_000)
  sleepMs?: number;
}

/** Counts invocations; sleeps `sleepMs` (honouring the signal). */
@JobHandler({ type: 'test.counting', payload: CountingPayload })
export class CountingHandler implements HandlesJob<CountingPayload, { ok: true }> {
  async handle({ job, payload, signal }: JobContext<CountingPayload>): Promise<{ ok: true }> {
    see(job, signal);
    if (payload.sleepMs) await sleep(payload.sleepMs, undefined, { signal });
    return { ok: true };
  }
}

export class FlakyPayload {
  /** Attempts 1..failTimes throw. */
  @IsInt()
  @Min(0)
  failTimes!: number;

  @IsOptional()
  @IsBoolean()
  nonRetryable?: boolean;
}

/** Fails its first `failTimes` attempts (retryable unless nonRetryable), then succeeds. */
@JobHandler({ type: 'test.flaky', payload: FlakyPayload, defaultMaxAttempts: 5 })
export class FlakyHandler implements HandlesJob<FlakyPayload, { attempt: number }> {
  handle({ job, payload, attempt, signal }: JobContext<FlakyPayload>): Promise<{ attempt: number }> {
    see(job, signal);
    if (attempt <= payload.failTimes) {
      if (payload.nonRetryable)
        throw new NonRetryableJobError(`refused on attempt ${attempt}`, 'TEST_REFUSED');
      throw new Error(`boom on attempt ${attempt}`);
    }
    return Promise.resolve({ attempt });
  }
}

export class BigResultPayload {
  @IsInt()
  @Min(0)
  bytes!: number;
}

/** Returns a string of `bytes` characters (for the result size cap). */
@JobHandler({ type: 'test.big-result', payload: BigResultPayload })
export class BigResultHandler implements HandlesJob<BigResultPayload, string> {
  handle({ payload }: JobContext<BigResultPayload>): Promise<string> {
    return Promise.resolve('x'.repeat(payload.bytes));
  }
}

/** Ignores its signal and sleeps `sleepMs`: the engine must not wait for it past a timeout. */
@JobHandler({ type: 'test.stubborn', payload: CountingPayload })
export class StubbornHandler implements HandlesJob<CountingPayload, { ok: true }> {
  async handle({ job, payload, signal }: JobContext<CountingPayload>): Promise<{ ok: true }> {
    see(job, signal);
    await sleep(payload.sleepMs ?? 0);
    return { ok: true };
  }
}

/**
 * Waits until the test calls observed.gates.get(id)() — ignoring its signal, like a worker frozen
 * mid-job — then reports progress and returns `{ released: true }`.
 */
@JobHandler({ type: 'test.gate' })
export class GateHandler implements HandlesJob<unknown, { released: true }> {
  async handle({ job, signal, progress }: JobContext<unknown>): Promise<{ released: true }> {
    see(job, signal);
    await new Promise<void>((resolve) => observed.gates.set(job.id, resolve));
    progress(50, 'released');
    return { released: true };
  }
}

@Module({
  providers: [CountingHandler, FlakyHandler, BigResultHandler, StubbornHandler, GateHandler],
})
export class TestHandlersModule {}
