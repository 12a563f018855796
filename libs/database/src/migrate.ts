import type { DataSource, QueryRunner } from 'typeorm';
import { MigrationExecutor } from 'typeorm';

// Any constant works as long as every replica uses the same one.
const MIGRATIONS_LOCK_KEY = 7_262_024_001;
const LOCK_POLL_MS = 100;

/**
 * Applies pending migrations while holding a session advisory lock, so N replicas starting at
 * once apply each migration exactly once: the others wait, then find nothing pending.
 * The lock and the migrations share one query runner, which also keeps this deadlock-free on the
 * embedded store's single connection. The others wait by asking again, not inside a
 * `pg_advisory_lock` call: an index built CONCURRENTLY (1795900000000) waits for every statement
 * already running, so it and a replica waiting in that call for its lock waited for each other
 * until PostgreSQL killed one ("deadlock detected" at every fresh start of several replicas).
 */
export async function runMigrationsLocked(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    while (!(await tryLock(runner))) await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    try {
      const executor = new MigrationExecutor(dataSource, runner);
      executor.transaction = 'each';
      const applied = await executor.executePendingMigrations();
      return applied.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATIONS_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}

async function tryLock(runner: QueryRunner): Promise<boolean> {
  const rows = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATIONS_LOCK_KEY])) as {
    locked: boolean;
  }[];
  return rows[0].locked;
}
