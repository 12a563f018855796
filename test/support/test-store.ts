import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { EmbeddedPostgres } from '@lib/database';
import { SERVER_URL } from './test-env';

/**
 * A store of its own for one test file: a fresh database on the run's PostgreSQL server, or a
 * fresh embedded data dir. `env` is what an app needs to use it.
 */
export interface TestStore {
  kind: 'postgres' | 'embedded';
  env: Record<string, string | undefined>;
  drop(): Promise<void>;
}

export async function createTestStore(): Promise<TestStore> {
  if (SERVER_URL) {
    const name = `jobs_test_${randomBytes(6).toString('hex')}`;
    await adminQuery(`CREATE DATABASE ${name}`);
    const url = new URL(SERVER_URL);
    url.pathname = `/${name}`;
    return {
      kind: 'postgres',
      env: { DATABASE_URL: url.toString() },
      drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
    };
  }
  const dataDir = freshDataDir();
  return {
    kind: 'embedded',
    env: { DATABASE_URL: undefined, DATA_DIR: dataDir },
    drop: () => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })),
  };
}

/** A running PostgreSQL endpoint the test controls (to put a proxy in front of, say). */
export async function startRawStore(): Promise<{ url: string; stop(): Promise<void> }> {
  if (SERVER_URL) {
    const store = await createTestStore();
    return { url: store.env.DATABASE_URL as string, stop: () => store.drop() };
  }
  const dataDir = freshDataDir();
  const embedded = await EmbeddedPostgres.start(dataDir);
  return {
    url: `postgres://postgres@${embedded.host}:${embedded.port}/postgres`,
    stop: async () => {
      await embedded.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Empty: the embedded store fills it from the build's template, as on a first start. */
function freshDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'jobs-service-test-'));
}

async function adminQuery(sql: string): Promise<void> {
  const client = new Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
