import { AttemptTimeouts } from './attempt-timeouts';
import { RunningAttempt } from './job-runner';
import type { ClaimedJob } from './job-store';

// Only its timeout matters to the timer.
const job = (timeoutSeconds: number) => ({ timeoutSeconds }) as ClaimedJob;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('AttemptTimeouts (one timer for every running attempt)', () => {
  const running = new Set<RunningAttempt>();
  const timeouts = new AttemptTimeouts(() => running);
  const start = (timeoutSeconds: number) => {
    const attempt = new RunningAttempt(job(timeoutSeconds));
    running.add(attempt);
    timeouts.watch(attempt);
    return attempt;
  };

  afterEach(() => {
    timeouts.stop();
    running.clear();
  });

  it('aborts each attempt at its own deadline, whatever order they started in', async () => {
    const slow = start(0.3);
    const fast = start(0.05);
    const ended = start(0.1);
    running.delete(ended);
    await sleep(150);
    expect(fast.reason?.kind).toBe('timeout');
    expect(slow.reason).toBeUndefined();
    expect(ended.reason).toBeUndefined();
    await sleep(250);
    expect(slow.reason?.kind).toBe('timeout');
  });

  it('does not abort early: an attempt is left alone until its deadline', async () => {
    const attempt = start(0.2);
    await sleep(120);
    expect(attempt.reason).toBeUndefined();
    await sleep(150);
    expect(attempt.reason?.kind).toBe('timeout');
  });

  it('keeps the first reason of an attempt aborted otherwise', async () => {
    const attempt = start(0.05);
    attempt.abort('cancel');
    await sleep(100);
    expect(attempt.reason?.kind).toBe('cancel');
  });

  it('aborts nothing once stopped', async () => {
    const attempt = start(0.05);
    timeouts.stop();
    await sleep(100);
    expect(attempt.reason).toBeUndefined();
  });
});
