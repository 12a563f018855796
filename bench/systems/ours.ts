/**
 * jobs-service itself: the built dist/src/main.js as a child process, over real HTTP. The enqueue
 * runs on an API-only replica (worker off), which is then replaced by one full replica (the
 * worker); with the worker running, jobs are submitted to it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { BenchChild } from '../support/child';
import { createDatabase, withClient } from '../support/database';
import { JsonClient } from '../support/json-client';
import { PickupTarget } from '../support/pickup-target';
import { type Service, startService, stopService } from '../support/service';
import { sendInBatches, type BenchContext, type Session, type System } from './system';

const FINISHED = /^jobs_finished_total\{([^}]*)\} (\d+)/gm;

export class OursSession implements Session {
  private service?: Service;
  private worker = false;
  private target?: PickupTarget;
  private client?: JsonClient;
  private readonly bodies = new Map<number, string>();
  /** drained()'s connection to the throwaway database (PostgreSQL only). */
  private probe?: Client;
  private lastScrape = Number.NEGATIVE_INFINITY;

  private constructor(
    /** The store's environment: DATABASE_URL of a throwaway database, or a fresh DATA_DIR. */
    readonly storeEnv: Record<string, string>,
    private readonly env: Record<string, string>,
    private readonly dropStore: () => Promise<void>,
    private readonly enqueueInFlight: number,
  ) {}

  static async open(context: BenchContext): Promise<OursSession> {
    // The pickup probe is an http job to a loopback target, which the SSRF guard refuses unless listed.
    const env = { JOBS_HTTP_ALLOWED_HOSTS: '127.0.0.1', ...context.oursEnv };
    if (context.databaseUrl) {
      const database = await createDatabase(context.databaseUrl, 'ours');
      return new OursSession({ DATABASE_URL: database.url }, env, database.drop, context.enqueueInFlight);
    }
    const dataDir = mkdtempSync(join(tmpdir(), 'jobs-bench-'));
    const drop = () => {
      rmSync(dataDir, { recursive: true, force: true });
      return Promise.resolve();
    };
    return new OursSession({ DATA_DIR: dataDir }, env, drop, context.enqueueInFlight);
  }

  /** The running replica (the worker once started). */
  get api(): Service {
    if (!this.service) throw new Error('no replica running');
    return this.service;
  }

  async prepareEnqueue(): Promise<void> {
    this.service ??= await startService({ ...this.storeEnv, ...this.env, JOBS_WORKER_ENABLED: 'false' });
  }

  /** Through POST /v1/jobs/batch of the replica, or of `url` (the bare floor's, unauthenticated). */
  async enqueue(count: number, url?: string): Promise<void> {
    const headers = url === undefined ? this.api.headers : {};
    await sendInBatches(count, this.enqueueInFlight, async (size) => {
      const res = await fetch(`${url ?? this.api.url}/v1/jobs/batch`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: this.body(size),
      });
      if (res.status !== 202) throw new Error(`POST /v1/jobs/batch → ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    });
  }

  private body(size: number): string {
    let body = this.bodies.get(size);
    if (!body) {
      body = JSON.stringify({ jobs: Array.from({ length: size }, () => ({ type: 'noop', payload: {} })) });
      this.bodies.set(size, body);
    }
    return body;
  }

  async startWorker(): Promise<void> {
    if (this.worker) return;
    if (this.service) await stopService(this.service);
    this.service = await startService({ ...this.storeEnv, ...this.env });
    this.worker = true;
  }

  async processed(): Promise<number> {
    const text = await (await fetch(`${this.api.url}/metrics`)).text();
    let total = 0;
    for (const [, labels, value] of text.matchAll(FINISHED)) {
      if (labels.includes('type="noop"')) {
        if (!labels.includes('outcome="succeeded"')) throw new Error(`a noop job did not succeed: ${labels}`);
        total += Number(value);
      }
    }
    return total;
  }

  /**
   * Every /metrics scrape counts the queued and running rows (the jobs_in_state gauge): scraped
   * every 200 ms during a drain, that took 18 µs of PostgreSQL per drained job, a fifth of ours'
   * statement time (pg_stat_statements), while the peers' progress costs their store nothing. On
   * PostgreSQL a query that stops at the first unfinished row answers instead, and the counter is
   * read once none is left; on the embedded store, which the bench cannot reach, the counter is
   * read at most every 200 ms.
   */
  async drained(jobs: number): Promise<boolean> {
    if (this.storeEnv.DATABASE_URL) {
      if (await this.unfinished()) return false;
    } else if (performance.now() - this.lastScrape < 200) {
      return false;
    }
    this.lastScrape = performance.now();
    // The finished counter moves only after the final state is committed.
    return (await this.processed()) >= jobs;
  }

  /** Removes every job, so that a second backlog starts from tables as empty as the first's. PostgreSQL only. */
  async emptyJobs(): Promise<void> {
    await withClient(this.storeEnv.DATABASE_URL, (client) => client.query('TRUNCATE jobs CASCADE'));
  }

  /** Whether any job is queued or running: a query that stops at the first one. PostgreSQL only. */
  async unfinished(): Promise<boolean> {
    if (!this.probe) {
      this.probe = new Client({ connectionString: this.storeEnv.DATABASE_URL });
      await this.probe.connect();
    }
    const { rows } = await this.probe.query<{ unfinished: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM jobs WHERE status = 'queued')
         OR EXISTS (SELECT 1 FROM jobs WHERE status = 'running') AS unfinished`,
    );
    return rows[0].unfinished;
  }

  workerPid(): number {
    return this.api.child.pid ?? -1;
  }

  enqueuePid(): number | undefined {
    return this.api.child.pid;
  }

  async pickup(): Promise<number> {
    this.target ??= await PickupTarget.start();
    this.client ??= new JsonClient(this.api.url, this.api.headers);
    const body = JSON.stringify({ type: 'http', payload: { url: this.target.url } });
    const arrival = this.target.next();
    const t0 = performance.now();
    const res = await this.client.post('/v1/jobs', body);
    if (res.status !== 202) throw new Error(`POST /v1/jobs → ${res.status} ${res.text}`);
    return (await arrival) - t0;
  }

  /**
   * Runs `use` against the bare Fastify + pg routes on this session's database (support/bare-api.ts,
   * the local ceiling and floor), the replica stopped first so that they get the machine to
   * themselves as ours had it. PostgreSQL only.
   */
  async withBareApi<T>(use: (url: string, child: BenchChild) => Promise<T>): Promise<T> {
    return this.withBareChild('bare-api.ts', ({ child, port }) => use(`http://127.0.0.1:${port}`, child));
  }

  /**
   * Runs `use` with the drain's floor (support/bare-drain.ts: ours' worker SQL and nothing else)
   * started on this session's database and waiting for its `go`, the replica stopped first so
   * that it gets the machine to itself as ours' worker had it. PostgreSQL only.
   */
  async withBareDrain<T>(use: (child: BenchChild) => Promise<T>): Promise<T> {
    return this.withBareChild('bare-drain.ts', ({ child }) => use(child));
  }

  /** One of the bare children (support/), on this session's database, the replica stopped first. */
  private async withBareChild<T>(
    file: string,
    use: (started: { child: BenchChild; port?: number }) => Promise<T>,
  ): Promise<T> {
    const databaseUrl = this.storeEnv.DATABASE_URL;
    if (!databaseUrl) throw new Error(`${file} needs PostgreSQL (DATABASE_URL)`);
    await this.stopReplica();
    const started = await BenchChild.start(join(__dirname, '..', 'support', file), {
      DATABASE_URL: databaseUrl,
    });
    try {
      return await use(started);
    } finally {
      await started.child.stop();
    }
  }

  /** Stops the running replica, keeping the store. */
  async stopReplica(): Promise<void> {
    this.client?.close();
    this.client = undefined;
    if (this.service) await stopService(this.service);
    this.service = undefined;
    this.worker = false;
  }

  async close(): Promise<void> {
    try {
      await this.probe?.end();
      await this.stopReplica();
      await this.target?.close();
    } finally {
      await this.dropStore();
    }
  }
}

export const ours: System = {
  name: 'ours',
  settings: 'its defaults (JOBS_CONCURRENCY 10, DATABASE_POOL_SIZE 10) unless --env says otherwise',
  open: (context) => OursSession.open(context),
};
