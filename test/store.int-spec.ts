import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions, EmbeddedPostgres, PGLITE_TEMPLATE_DIR, runMigrationsLocked } from '@lib/database';
import { startTestApp, type TestApp } from './support/test-app';
import { SERVER_URL } from './support/test-env';
import { startRawStore } from './support/test-store';

describe('the store (CONTRACT §2)', () => {
  describe('transactions on the app data source', () => {
    let t: TestApp;
    let dataSource: DataSource;

    beforeAll(async () => {
      t = await startTestApp();
      dataSource = t.app.get(DataSource);
      await dataSource.query('CREATE TABLE isolation_probe (id int PRIMARY KEY, n int NOT NULL)');
      await dataSource.query('INSERT INTO isolation_probe VALUES (1, 0)');
    });
    afterAll(() => t.close());

    // The embedded store is one PGlite backend: each transaction must own it, or a rollback of
    // one would undo (or keep) another's writes. 200 at once, every other one rolled back.
    it('isolates 200 concurrent transactions, half rolled back: exactly 100 increments stay', async () => {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 200 }, (_, i) =>
          dataSource.transaction(async (em) => {
            await em.query('UPDATE isolation_probe SET n = n + 1 WHERE id = 1');
            await new Promise((resolve) => setImmediate(resolve));
            if (i % 2 === 1) throw new Error('roll back');
          }),
        ),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(100);
      const [{ n }] = await dataSource.query<
        {
          n: number;
        }[]
      >('SELECT n FROM isolation_probe WHERE id = 1');
      expect(n).toBe(100);
    });

    it('reports the store kind it runs on', () => {
      expect(['postgres', 'embedded']).toContain(t.store.kind);
    });
  });

  describe('migrations under the advisory lock', () => {
    let store: { url: string; stop(): Promise<void> };
    beforeAll(async () => {
      store = await startRawStore();
    });
    afterAll(() => store.stop());

    // PostgreSQL: three replicas race for real. Embedded: one process owns the store (a second
    // connection is refused by design), so the three start one after another.
    it('three replicas starting at once apply each migration exactly once', async () => {
      const replica = () =>
        new DataSource({
          ...dataSourceOptions({ url: store.url }, { poolSize: 1, migrationsRun: false }),
          migrations: [`${__dirname}/fixtures/migrations/*.ts`],
        });
      const start = async (source: DataSource) => {
        await source.initialize();
        try {
          return await runMigrationsLocked(source);
        } finally {
          await source.destroy();
        }
      };
      let applied: string[][];
      if (SERVER_URL) {
        applied = await Promise.all([replica(), replica(), replica()].map(start));
      } else {
        applied = [];
        for (let i = 0; i < 3; i++) {
          applied.push(await start(replica()));
          // pglite-socket frees its single slot a tick after the client's socket closes.
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      expect(applied.flat().sort()).toEqual([
        'CreateProbe1700000000001',
        'FillProbe1700000000002',
        'ProbeIndex1700000000003',
      ]);

      if (!SERVER_URL) await new Promise((resolve) => setTimeout(resolve, 100));
      const check = await replica().initialize();
      try {
        const rows = await check.query<{ c: number }[]>('SELECT count(*)::int AS c FROM migration_probe');
        expect(rows[0].c).toBe(1);
        const recorded = await check.query<{ c: number }[]>('SELECT count(*)::int AS c FROM migrations');
        expect(recorded[0].c).toBe(3);
      } finally {
        await check.destroy();
      }
    });
  });

  // The build's template stands in for initdb on a first start. A cluster's system identifier is
  // drawn at initdb: the same one in a fresh store and in the template means it was copied. (The
  // embedded store is exercised directly, so this runs in the PostgreSQL pass too.)
  describe('a first start of the embedded store', () => {
    const dirs: string[] = [];
    afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

    async function systemIdentifier(dataDir: string): Promise<string> {
      const embedded = await EmbeddedPostgres.start(dataDir);
      const client = new Client({ host: embedded.host, port: embedded.port, user: 'postgres' });
      try {
        await client.connect();
        const { rows } = await client.query<{ id: string }>(
          'SELECT system_identifier::text AS id FROM pg_control_system()',
        );
        return rows[0].id;
      } finally {
        await client.end();
        await embedded.stop();
      }
    }

    it('copies the template made by the build instead of running initdb', async () => {
      const copy = mkdtempSync(join(tmpdir(), 'jobs-template-copy-'));
      const fresh = mkdtempSync(join(tmpdir(), 'jobs-fresh-'));
      dirs.push(copy, fresh);
      cpSync(PGLITE_TEMPLATE_DIR, join(copy, 'pglite'), { recursive: true });
      const [template, started] = [await systemIdentifier(copy), await systemIdentifier(fresh)];
      expect(started).toBe(template);
      // And the store it made is kept: a restart opens the same cluster.
      expect(await systemIdentifier(fresh)).toBe(started);
    });
  });
});
