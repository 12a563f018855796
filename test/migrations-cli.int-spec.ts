import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { EmbeddedPostgres } from '@lib/database';
import { createTestStore, type TestStore } from './support/test-store';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');

/** `npm run migration:<command>` against the test store, as an operator would run it. */
async function cli(store: TestStore, command: string): Promise<string> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test' };
  for (const [k, v] of Object.entries(store.env)) if (v !== undefined) env[k] = v;
  const { stdout } = await run('npm', ['run', '-s', `migration:${command}`], {
    cwd: ROOT,
    env,
    timeout: 60_000,
  });
  return stdout;
}

/** The public tables of the store, read after the CLI has let go of it. */
async function tables(store: TestStore): Promise<string[]> {
  const embedded = store.kind === 'embedded' ? await EmbeddedPostgres.start(store.env.DATA_DIR!) : undefined;
  const client = new Client(
    embedded
      ? { host: embedded.host, port: embedded.port, user: 'postgres', database: 'postgres' }
      : { connectionString: store.env.DATABASE_URL },
  );
  await client.connect();
  try {
    const { rows } = await client.query<{ t: string }>(
      "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    );
    return rows.map((r) => r.t);
  } finally {
    await client.end();
    await embedded?.stop();
  }
}

describe('npm run migration:* (CONTRACT §2)', () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await createTestStore();
  });
  afterAll(() => store.drop());

  it('runs, shows and reverts migrations on this store', async () => {
    await cli(store, 'run');
    const applied = await tables(store);
    expect(applied).toEqual(
      expect.arrayContaining(['migrations', 'users', 'refresh_tokens', 'api_keys', 'audit_logs']),
    );

    const shown = await cli(store, 'show');
    expect(shown).toMatch(/\[X\] \d+ Users1795400000000/);
    expect(shown).not.toMatch(/\[ \]/);

    await cli(store, 'revert');
    const reverted = await cli(store, 'show');
    expect(reverted).toMatch(/\[ \] /);

    await cli(store, 'run');
    expect(await cli(store, 'show')).not.toMatch(/\[ \]/);
    // Six CLI processes, each compiling the migrations through ts-node: ~45 s on 2 idle cores.
  }, 180_000);

  // What the Docker image holds: the build and production dependencies, no ts-node, no sources.
  it('runs and shows them from the build alone (migration:run:prod)', async () => {
    const built = await createTestStore();
    try {
      await cli(built, 'run:prod');
      expect(await tables(built)).toEqual(
        expect.arrayContaining(['migrations', 'users', 'jobs', 'audit_logs']),
      );
      const shown = await cli(built, 'show:prod');
      expect(shown).toMatch(/\[X\] \d+ Users1795400000000/);
      expect(shown).not.toMatch(/\[ \]/);
    } finally {
      await built.drop();
    }
  });
});
