import type { Logger } from '@nestjs/common';
import type { JobContext } from './job-handler';
import type { JobType } from './job-handler-registry';
import { runAttempt, RunningAttempt } from './job-runner';
import type { ClaimedJob } from './job-store';

const job: ClaimedJob = {
  id: '019ae3a1-7c2e-7b3d-9f4a-0123456789ab',
  type: 't',
  name: null,
  ownerId: 'o',
  priority: 5,
  payload: {},
  attempts: 1,
  attemptOffset: 0,
  maxAttempts: 3,
  timeoutSeconds: 0.05,
  backoffBaseSeconds: 1,
  backoffMaxSeconds: 60,
  leaseToken: '1',
  runAt: new Date(),
  createdAt: new Date(),
  claimedAt: performance.now(),
};
const logger = { warn: () => undefined } as unknown as Logger;

function typeOf(handle: (context: JobContext<unknown>) => Promise<unknown>): JobType {
  return {
    type: 't',
    handler: { handle },
    options: { type: 't' },
    defaultTimeoutSeconds: 300,
    defaultMaxAttempts: 3,
    payloadSchema: {},
  };
}
const forever = () => new Promise<never>(() => undefined);

describe('runAttempt and its abort switch', () => {
  it('ends a handler that ignores its signal once the attempt is cancelled', async () => {
    const attempt = new RunningAttempt(job);
    const running = runAttempt(typeOf(forever), {}, attempt, 1024, logger);
    attempt.abort('cancel');
    expect(await running).toMatchObject({
      status: 'cancelled',
      outcome: 'cancelled',
      errorCode: 'CANCELLED',
    });
  });

  it('ends a timed-out attempt as a retryable TIMEOUT failure', async () => {
    const attempt = new RunningAttempt(job);
    const running = runAttempt(typeOf(forever), {}, attempt, 1024, logger);
    attempt.abort('timeout');
    expect(await running).toMatchObject({
      status: 'queued',
      outcome: 'timeout',
      errorCode: 'TIMEOUT',
      errorMessage: 'The attempt ran longer than 0.05 s.',
    });
  });

  it('ends at once an attempt aborted before its handler was called', async () => {
    const attempt = new RunningAttempt(job);
    attempt.abort('cancel');
    const end = await runAttempt(typeOf(forever), {}, attempt, 1024, logger);
    expect(end).toMatchObject({ outcome: 'cancelled' });
  });

  it('fails an attempt whose handler throws before returning a promise', async () => {
    const throwsAtOnce = (() => {
      throw new Error('sync');
    }) as () => Promise<unknown>;
    const end = await runAttempt(typeOf(throwsAtOnce), {}, new RunningAttempt(job), 1024, logger);
    expect(end).toMatchObject({ outcome: 'failed', errorCode: 'HANDLER_ERROR', errorMessage: 'sync' });
  });

  it('drops the outcome of an attempt whose lease was lost, and puts a shut-down one back unspent', async () => {
    const lost = new RunningAttempt({ ...job, timeoutSeconds: 60 });
    const lostRun = runAttempt(typeOf(forever), {}, lost, 1024, logger);
    lost.abort('leaseLost');
    expect(await lostRun).toBeNull();
    const drained = new RunningAttempt({ ...job, timeoutSeconds: 60 });
    const drainedRun = runAttempt(typeOf(forever), {}, drained, 1024, logger);
    drained.abort('shutdown');
    expect(await drainedRun).toMatchObject({ status: 'queued', outcome: 'interrupted', unspend: true });
  });

  it('fires the signal of a handler that listens, with the reason, and keeps the first reason', async () => {
    const attempt = new RunningAttempt({ ...job, timeoutSeconds: 60 });
    let heard: unknown;
    const running = runAttempt(
      typeOf(
        ({ signal }) =>
          new Promise((_, reject) =>
            signal.addEventListener('abort', () => {
              heard = signal.reason;
              reject(signal.reason as Error);
            }),
          ),
      ),
      {},
      attempt,
      1024,
      logger,
    );
    attempt.abort('cancel');
    attempt.abort('timeout');
    expect(await running).toMatchObject({ outcome: 'cancelled' });
    expect(heard).toMatchObject({ kind: 'cancel' });
    expect(attempt.reason?.kind).toBe('cancel');
  });

  it('gives a handler that first reads its signal after the abort an already aborted one', () => {
    const attempt = new RunningAttempt(job);
    attempt.abort('shutdown');
    expect(attempt.signal.aborted).toBe(true);
    expect(attempt.signal.reason).toMatchObject({ kind: 'shutdown' });
  });

  it('gives a handler its job (without the lease) and a progress it may destructure', async () => {
    const attempt = new RunningAttempt(job);
    let seen: unknown;
    await runAttempt(
      typeOf(({ job: info, progress, attempt: number }) => {
        progress(42, 'half');
        seen = { info, number };
        return Promise.resolve(null);
      }),
      {},
      attempt,
      1024,
      logger,
    );
    expect(seen).toEqual({
      info: {
        id: job.id,
        type: 't',
        name: null,
        ownerId: 'o',
        priority: 5,
        maxAttempts: 3,
        timeoutSeconds: 0.05,
        createdAt: job.createdAt,
      },
      number: 1,
    });
    expect(attempt).toMatchObject({ progress: 42, progressMessage: 'half', progressDirty: true });
  });

  it('returns what the handler resolved when nothing aborts it', async () => {
    const end = await runAttempt(
      typeOf(() => Promise.resolve({ ok: 1 })),
      {},
      new RunningAttempt(job),
      1024,
      logger,
    );
    expect(end).toMatchObject({ status: 'succeeded', outcome: 'succeeded', resultJson: '{"ok":1}' });
  });
});
