import type { DataSource } from 'typeorm';
import { MigrationExecutor } from 'typeorm';

// Any constant works as long as every replica uses the same one.
const MIGRATIONS_LOCK_KEY = 7_262_024_001;

/**
 * Applies pending migrations while holding a session advisory lock, so N replicas starting at
 * once apply each migration exactly once: the others wait, then find nothing pending.
 * The lock and the migrations share one query runner, which also keeps this deadlock-free on the
 * embedded store's single connection.
 */
export async function runMigrationsLocked(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATIONS_LOCK_KEY]);
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
