/** Shared by the bench scripts: the built service as a child process, on a throwaway store. */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase } from './database';

export const ADMIN = { email: 'bench@bench.local', password: 'bench-password-0123' };
const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');

/**
 * Every service started by this process appends its log lines (warn and above, as JSON) here, so
 * errors during a run are visible afterwards without an access line per request skewing numbers.
 */
export const SERVICE_LOG = join(tmpdir(), `jobs-bench-service-${process.pid}.log`);

export interface Service {
  url: string;
  child: ChildProcess;
  headers: Record<string, string>;
}

/** Spawns the service without waiting; `ready` resolves on /health/ready 200, rejects on exit. */
export async function spawnService(env: Record<string, string>): Promise<{
  url: string;
  child: ChildProcess;
  /** performance.now() just before the spawn. */
  spawnedAt: number;
  ready: (pollMs?: number) => Promise<void>;
}> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  const port = await freePort();
  const log = openSync(SERVICE_LOG, 'a');
  const spawnedAt = performance.now();
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
    stdio: ['ignore', log, 'inherit'],
  });
  closeSync(log);
  const exited = new Promise<never>((_, reject) =>
    child.on('exit', (code, signal) => reject(new Error(`service exited (${code ?? signal})`))),
  );
  exited.catch(() => undefined);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    child,
    spawnedAt,
    ready: (pollMs = 50) => Promise.race([exited, waitUntilReady(url, pollMs)]),
  };
}

export async function startService(env: Record<string, string>): Promise<Service> {
  const { url, child, ready } = await spawnService(env);
  try {
    await ready();
    const login = await post(url, '/v1/auth/login', ADMIN, {});
    if (login.status !== 200) throw new Error(`login → ${login.status} ${await login.text()}`);
    const { accessToken } = (await login.json()) as { accessToken: string };
    return { url, child, headers: { authorization: `Bearer ${accessToken}` } };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
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

async function waitUntilReady(url: string, pollMs: number): Promise<void> {
  for (;;) {
    const ok = await fetch(`${url}/health/ready`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

export async function stopService(service: Pick<Service, 'child'>): Promise<void> {
  const { child } = service;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
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

/** Warn-and-above lines the services logged during this run, grouped by message. */
export function serviceLogSummary(): { lines: number; messages: Map<string, number> } {
  const messages = new Map<string, number>();
  if (!existsSync(SERVICE_LOG)) return { lines: 0, messages };
  let lines = 0;
  for (const line of readFileSync(SERVICE_LOG, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    lines += 1;
    let message = line.slice(0, 200);
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string };
      message = `[${entry.level ?? '?'}] ${entry.msg ?? message}`;
    } catch {
      // Not JSON (a crash trace, say): kept as written.
    }
    messages.set(message, (messages.get(message) ?? 0) + 1);
  }
  return { lines, messages };
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
    const database = await createDatabase(server, 'jobs');
    try {
      return { store: 'PostgreSQL', numbers: await measure({ DATABASE_URL: database.url }) };
    } finally {
      await database.drop();
    }
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'jobs-bench-'));
  try {
    return { store: 'embedded (PGlite)', numbers: await measure({ DATA_DIR: dataDir }) };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
