import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE_TEST_ENV } from './support/test-env';
import type { JobJson } from './support/jobs';
import { runServiceToExit, spawnService, type SpawnedService } from './support/spawn-service';
import { createTestStore, type TestStore } from './support/test-store';

interface Attempt {
  attempt: number;
  outcome: string | null;
  workerId: string | null;
  error: { code: string } | null;
}

/** The built service as a real process, driven over HTTP like a client would. */
class Client {
  private constructor(
    readonly service: SpawnedService,
    private readonly headers: Record<string, string>,
  ) {}

  static async connect(service: SpawnedService): Promise<Client> {
    const res = await fetch(`${service.url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: BASE_TEST_ENV.ADMIN_EMAIL, password: BASE_TEST_ENV.ADMIN_PASSWORD }),
    });
    const { accessToken } = (await res.json()) as { accessToken: string };
    return new Client(service, { authorization: `Bearer ${accessToken}` });
  }

  async submit(body: Record<string, unknown>): Promise<JobJson> {
    const res = await fetch(`${this.service.url}/v1/jobs`, {
      method: 'POST',
      headers: { ...this.headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(202);
    return (await res.json()) as JobJson;
  }

  async job(id: string): Promise<JobJson> {
    return (await (
      await fetch(`${this.service.url}/v1/jobs/${id}`, { headers: this.headers })
    ).json()) as JobJson;
  }

  async attempts(id: string): Promise<Attempt[]> {
    const res = await fetch(`${this.service.url}/v1/jobs/${id}/attempts`, { headers: this.headers });
    return ((await res.json()) as { items: Attempt[] }).items;
  }

  async metrics(): Promise<string> {
    return (await fetch(`${this.service.url}/metrics`)).text();
  }

  async waitFor(id: string, done: (job: JobJson) => boolean, timeoutMs = 30_000): Promise<JobJson> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await this.job(id);
      if (done(job)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

const finished = (job: JobJson): boolean => ['succeeded', 'failed', 'cancelled'].includes(job.status);
const running = (job: JobJson): boolean => job.status === 'running';

describe('accepted jobs survive crashes and restarts (CONTRACT §1, §5)', () => {
  let store: TestStore;
  const services: SpawnedService[] = [];
  const start = async (env: Record<string, string> = {}): Promise<Client> => {
    const service = await spawnService({ ...store.env, JOBS_LEASE_SECONDS: '5', ...env });
    services.push(service);
    return Client.connect(service);
  };
  beforeEach(async () => {
    store = await createTestStore();
  });
  afterEach(async () => {
    for (const service of services.splice(0)) {
      service.child.kill('SIGCONT');
      await service.stop('SIGKILL');
    }
    await store.drop();
  });

  it('SIGKILL mid-job: after a restart the job is re-run once its lease expires, and queued jobs are kept', async () => {
    const first = await start();
    const victim = await first.submit({ type: 'sleep', payload: { ms: 1500 } });
    await first.waitFor(victim.id, running);
    const waiting = await Promise.all(
      Array.from({ length: 5 }, (_, i) => first.submit({ type: 'noop', payload: { i }, delaySeconds: 2 })),
    );
    expect((await first.service.stop('SIGKILL')).signal).toBe('SIGKILL');

    const second = await start();
    const done = await second.waitFor(victim.id, finished);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2, lastError: { code: 'LEASE_EXPIRED' } });
    const history = await second.attempts(victim.id);
    expect(history.map((a) => a.outcome)).toEqual(['lease_expired', 'succeeded']);
    expect(history[0].workerId).not.toBe(history[1].workerId);
    for (const job of waiting) {
      expect(await second.waitFor(job.id, finished)).toMatchObject({ status: 'succeeded', attempts: 1 });
    }
  });

  // On either CI pass: the embedded store is what runs without DATABASE_URL.
  it('one process per embedded data directory: a second is refused and the first keeps its jobs, also after a SIGKILL', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'jobs-service-lock-'));
    const env = { DATABASE_URL: undefined, DATA_DIR: dataDir };
    try {
      const owner = await spawnService(env);
      services.push(owner);
      const kept = await (
        await Client.connect(owner)
      ).submit({ type: 'noop', payload: {}, delaySeconds: 3600 });

      const second = await runServiceToExit(env);
      expect(second.code).toBe(1);
      expect(second.stdout + second.stderr).toContain(`DATA_DIR ${dataDir} is in use by another process`);
      // A failed start logs lines shaped like every other (pino's), Nest's own included.
      for (const line of `${second.stdout}${second.stderr}`.trim().split('\n')) {
        expect(JSON.parse(line)).toMatchObject({
          level: expect.any(Number),
          time: expect.any(Number),
          msg: expect.any(String),
        });
      }
      expect(await (await Client.connect(owner)).job(kept.id)).toMatchObject({ status: 'queued' });

      // The lock of a killed process goes stale: the restart waits it out, and the job is there.
      await owner.stop('SIGKILL');
      const restarted = await spawnService(env);
      services.push(restarted);
      expect(await (await Client.connect(restarted)).job(kept.id)).toMatchObject({ status: 'queued' });
      expect(await restarted.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('SIGTERM: a job that ends within the grace period finishes, and the process exits 0', async () => {
    const client = await start({ SHUTDOWN_GRACE_SECONDS: '10' });
    const job = await client.submit({ type: 'sleep', payload: { ms: 1500 } });
    await client.waitFor(job.id, running);
    expect(await client.service.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    const after = await start();
    expect(await after.job(job.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('SIGTERM past the grace period: the job goes back to queued without spending an attempt, then runs', async () => {
    const client = await start({ SHUTDOWN_GRACE_SECONDS: '1' });
    const job = await client.submit({ type: 'sleep', payload: { ms: 4000, steps: 4 } });
    await client.waitFor(job.id, running);
    const stopping = Date.now();
    expect(await client.service.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    // The grace (1 s) plus the drain, not the job's 4 s.
    expect(Date.now() - stopping).toBeLessThan(3900);
    expect(client.service.lines.some((line) => line.includes('Worker drained'))).toBe(true);

    const after = await start({ JOBS_WORKER_ENABLED: 'false' });
    expect(await after.job(job.id)).toMatchObject({ status: 'queued', attempts: 0 });
    expect((await after.attempts(job.id)).map((a) => a.outcome)).toEqual(['interrupted']);
    await after.service.stop('SIGTERM');

    const worker = await start();
    expect(await worker.waitFor(job.id, finished)).toMatchObject({ status: 'succeeded', attempts: 1 });
    // The interrupted attempt keeps its number; the one that ran it to the end has the next.
    expect((await worker.attempts(job.id)).map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'interrupted'],
      [2, 'succeeded'],
    ]);
  });

  // Two processes on one database need PostgreSQL: the embedded store serves a single process,
  // so this case exists only in the PostgreSQL run (jobs-engine covers fencing on both stores).
  if (process.env.DATABASE_URL) {
    it('a worker frozen (SIGSTOP) past its lease cannot overwrite the attempt another worker finished (fencing)', async () => {
      const frozen = await start();
      const job = await frozen.submit({ type: 'sleep', payload: { ms: 3000 } });
      await frozen.waitFor(job.id, running);
      frozen.service.child.kill('SIGSTOP');

      const other = await start();
      const done = await other.waitFor(job.id, finished);
      expect(done).toMatchObject({ status: 'succeeded', attempts: 2 });

      frozen.service.child.kill('SIGCONT');
      // Let the resumed worker's timers fire: its handler ends, its heartbeat and write go out.
      const deadline = Date.now() + 10_000;
      let stale = 0;
      while (stale === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        const match = /^job_stale_writes_total\{kind="\w+"\} (\d+)/m.exec(await frozen.metrics());
        stale = match ? Number(match[1]) : 0;
      }
      expect(stale).toBeGreaterThanOrEqual(1);
      const after = await other.job(job.id);
      expect(after).toEqual(done);
      expect((await other.attempts(job.id)).map((a) => a.outcome)).toEqual(['lease_expired', 'succeeded']);
    });
  }
});
