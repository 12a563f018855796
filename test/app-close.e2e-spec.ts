import { loginAdmin } from './support/auth';
import { submitJob, waitForJob } from './support/jobs';
import { startTestApp } from './support/test-app';

/** Node marks a timer `_destroyed` once it fired (one-shot) or was cleared. */
type NodeTimer = NodeJS.Timeout & { _destroyed?: boolean };

describe('closing the app', () => {
  afterEach(() => jest.restoreAllMocks());

  it('leaves no timer running that would keep a stopped process alive', async () => {
    const setTimeoutSpy = jest.spyOn(global, 'setTimeout');
    const setIntervalSpy = jest.spyOn(global, 'setInterval');
    const t = await startTestApp();
    const admin = await loginAdmin(t.app);
    // Every part ran: the API, the worker's claim, run and batched write, the heartbeat timers.
    const job = await submitJob(t.app, admin, { type: 'noop', payload: {} });
    expect(await waitForJob(t.app, admin, job.id)).toMatchObject({ status: 'succeeded' });
    await t.close();

    const timers = [...setTimeoutSpy.mock.results, ...setIntervalSpy.mock.results].map(
      (result) => result.value as NodeTimer,
    );
    expect(timers.length).toBeGreaterThan(0);
    const stillRunning = timers.filter((timer) => timer.hasRef() && !timer._destroyed);
    expect(stillRunning.map((timer) => (timer as unknown as { _idleTimeout: number })._idleTimeout)).toEqual(
      [],
    );
  });
});
