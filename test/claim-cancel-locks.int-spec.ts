import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { UNQUEUE } from '../src/jobs/jobs.service';
import { loginAdmin } from './support/auth';
import { narrowTableDisagreements, submitJob } from './support/jobs';
import { startTestApp, type TestApp } from './support/test-app';

const onPostgres = Boolean(process.env.DATABASE_URL);

/**
 * The claim and a cancel of a queued job take the same two rows in opposite orders (migration
 * 1796200000000): the claim its job_queue row, then the job row; the cancel the job row, then the
 * queue row. On PostgreSQL this plays the one interleaving that could deadlock, with the real
 * jobs_claim and the cancel's real UNQUEUE statement: the cancel holds the job row while a claim
 * holds the queue row and waits for it. The cancel must not wait in turn, and the claim, once let
 * through, must leave the cancelled job alone. The embedded store serves one connection at a
 * time, so there the two run one after the other.
 */
describe('a claim and a cancel meeting on one queued job', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { JOBS_WORKER_ENABLED: 'false' } });
  });
  afterAll(() => t.close());

  it('the cancel does not wait for the claim, and the claim does not take the cancelled job', async () => {
    const admin = await loginAdmin(t.app);
    const job = await submitJob(t.app, admin, { type: 'noop', payload: {} });
    const db = t.app.get(DataSource);
    const claim = `SELECT id FROM jobs_claim(ARRAY['noop'], 10, 30, 'test-worker')`;

    if (onPostgres) {
      const url = t.store.env.DATABASE_URL as string;
      const canceller = new Client({ connectionString: url });
      const claimer = new Client({ connectionString: url });
      await Promise.all([canceller.connect(), claimer.connect()]);
      try {
        await canceller.query('BEGIN');
        await canceller.query('SELECT id FROM jobs WHERE id = $1 FOR UPDATE', [job.id]);
        const claimed = claimer.query<{ id: string }>(claim);
        const claimerPid = (claimer as unknown as { processID: number }).processID;
        await until(async () => {
          const { rows } = await canceller.query<{ waiting: boolean }>(
            "SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = $1",
            [claimerPid],
          );
          return rows[0]?.waiting === true;
        });
        // The claim now holds the job's queue row and waits for the job row.
        const started = Date.now();
        const unqueued = await canceller.query(UNQUEUE, [job.id]);
        expect(Date.now() - started).toBeLessThan(500);
        expect(unqueued.rowCount).toBe(0);
        await canceller.query("UPDATE jobs SET status = 'cancelled', finished_at = now() WHERE id = $1", [
          job.id,
        ]);
        await canceller.query('COMMIT');
        expect((await claimed).rows).toEqual([]);
      } finally {
        await Promise.all([canceller.end(), claimer.end()]);
      }
    } else {
      const res = await t.app.inject({
        method: 'POST',
        url: `/v1/jobs/${job.id}/cancel`,
        headers: admin.headers,
      });
      expect(res.statusCode).toBe(200);
      expect(await db.query(claim)).toEqual([]);
    }

    const [row] = await db.query<{ status: string }[]>('SELECT status FROM jobs WHERE id = $1', [job.id]);
    expect(row.status).toBe('cancelled');
    expect(await narrowTableDisagreements(db)).toEqual([]);
  });
});

async function until(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the claim to block');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
