/** Shared by the bench scripts: the built service as a child process, on a throwaway store. */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

export const ADMIN = { email: 'bench@bench.local', password: 'bench-password-0123' };
const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');

export interface Service {
  url: string;
  child: ChildProcess;
  headers: Record<string, string>;
}

export async function startService(env: Record<string, string>): Promise<Service> {
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

export async function stopService(service: Service): Promise<void> {
  const exited = new Promise((resolve) => service.child.on('exit', resolve));
  service.child.kill('SIGTERM');
  await exited;
}

export function post(
  url: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/**
 * Runs `measure` against a throwaway store: a fresh database on the server of DATABASE_URL
 * (dropped afterwards), or a fresh embedded data dir. Returns the store's name and the numbers.
 */
export async function withThrowawayStore<T>(
  measure: (storeEnv: Record<string, string>) => Promise<T>,
): Promise<{ store: string; numbers: T }> {
  const server = process.env.DATABASE_URL;
  if (server) {
    const name = `jobs_bench_${randomBytes(4).toString('hex')}`;
    const admin = new Client({ connectionString: server });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      const url = new URL(server);
      url.pathname = `/${name}`;
      return { store: 'PostgreSQL', numbers: await measure({ DATABASE_URL: url.toString() }) };
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'jobs-bench-'));
  try {
    return { store: 'embedded (PGlite)', numbers: await measure({ DATA_DIR: dataDir }) };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
