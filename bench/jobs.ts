/**
 * Job engine numbers, through the built service as a separate process over real HTTP:
 * - enqueue: noop jobs/s through POST /v1/jobs/batch (1,000 per request), worker off;
 * - drain: noop jobs/s one replica (default JOBS_CONCURRENCY) takes to run that backlog;
 * - pickup: idle-worker latency from "POST /v1/jobs sent" to "handler started" (the job's
 *   startedAt, same host clock), over sequential submits: p50/p95/p99.
 *
 *   npm run build && npm run bench:jobs                       # embedded store
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:jobs
 *
 * With DATABASE_URL it works in a throwaway database on that server (dropped at the end).
 * JOBS=… and PICKUPS=… change the sizes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

const JOBS = Number(process.env.JOBS ?? 20_000);
const PICKUPS = Number(process.env.PICKUPS ?? 200);
const ADMIN = { email: 'bench@bench.local', password: 'bench-password-0123' };
const MAIN = join(__dirname, '..', 'dist', 'src', 'main.js');

interface Service {
  url: string;
  child: ChildProcess;
  headers: Record<string, string>;
}

async function startService(env: Record<string, string>): Promise<Service> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      PORT: String(port),
      HOST: '127.0.0.1',
      RATE_LIMIT_PER_MINUTE: '0',
      AUTH_RATE_LIMIT_PER_MINUTE: '0',
      BCRYPT_ROUNDS: '10',
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      JWT_SECRET: 'bench-secret-that-is-long-enough-0123456789',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<never>((_, reject) =>
    child.on('exit', (code) => reject(new Error(`service exited (${code})`))),
  );
  // Logs stay at warn (an access line per request would skew the numbers), so readiness is
  // watched instead of the "listening" line.
  const url = `http://127.0.0.1:${port}`;
  await Promise.race([exited, waitUntilReady(url)]);
  const login = await post(url, '/v1/auth/login', ADMIN, {});
  const { accessToken } = (await login.json()) as { accessToken: string };
  return { url, child, headers: { authorization: `Bearer ${accessToken}` } };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitUntilReady(url: string): Promise<void> {
  for (;;) {
    const ok = await fetch(`${url}/health/ready`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopService(service: Service): Promise<void> {
  const exited = new Promise((resolve) => service.child.on('exit', resolve));
  service.child.kill('SIGTERM');
  await exited;
}

function post(url: string, path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function finishedNoops(service: Service): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const match = /^jobs_finished_total\{type="noop",outcome="succeeded"\} (\d+)/m.exec(text);
  return match ? Number(match[1]) : 0;
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

async function measure(storeEnv: Record<string, string>): Promise<Record<string, string>> {
  const api = await startService({ ...storeEnv, JOBS_WORKER_ENABLED: 'false' });
  const batch = { jobs: Array.from({ length: 1000 }, () => ({ type: 'noop', payload: {} })) };
  const t0 = performance.now();
  for (let sent = 0; sent < JOBS; sent += 1000) {
    const res = await post(api.url, '/v1/jobs/batch', batch, api.headers);
    if (res.status !== 202) throw new Error(`batch → ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }
  const enqueueSeconds = (performance.now() - t0) / 1000;
  await stopService(api);

  const worker = await startService(storeEnv);
  const drainStart = performance.now();
  while ((await finishedNoops(worker)) < JOBS) await new Promise((resolve) => setTimeout(resolve, 20));
  const drainSeconds = (performance.now() - drainStart) / 1000;

  const pickups: number[] = [];
  for (let i = 0; i < PICKUPS; i += 1) {
    // An idle worker: nothing queued, nothing running, the last wake-up long done.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const sentAt = Date.now();
    const res = await post(worker.url, '/v1/jobs', { type: 'noop', payload: {} }, worker.headers);
    const { id } = (await res.json()) as { id: string };
    for (;;) {
      const job = (await (
        await fetch(`${worker.url}/v1/jobs/${id}`, { headers: worker.headers })
      ).json()) as {
        status: string;
        startedAt: string;
      };
      if (job.status === 'succeeded') {
        pickups.push(Date.parse(job.startedAt) - sentAt);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
  await stopService(worker);
  pickups.sort((a, b) => a - b);
  return {
    'enqueue jobs/s': (JOBS / enqueueSeconds).toFixed(0),
    'drain jobs/s': (JOBS / drainSeconds).toFixed(0),
    'pickup p50 ms': String(percentile(pickups, 0.5)),
    'pickup p95 ms': String(percentile(pickups, 0.95)),
    'pickup p99 ms': String(percentile(pickups, 0.99)),
  };
}

async function main(): Promise<void> {
  const server = process.env.DATABASE_URL;
  if (server) {
    const name = `jobs_bench_${randomBytes(4).toString('hex')}`;
    const admin = new Client({ connectionString: server });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      const url = new URL(server);
      url.pathname = `/${name}`;
      report('PostgreSQL', await measure({ DATABASE_URL: url.toString() }));
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  } else {
    const dataDir = mkdtempSync(join(tmpdir(), 'jobs-bench-'));
    try {
      report('embedded (PGlite)', await measure({ DATA_DIR: dataDir }));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
}

function report(store: string, numbers: Record<string, string>): void {
  console.log(`\njobs-service engine, ${store}: ${JOBS} noop jobs, ${PICKUPS} pickups`);
  console.table(numbers);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
