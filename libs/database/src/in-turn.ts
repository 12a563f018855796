import type { DataSource, EntityManager } from 'typeorm';

/**
 * Runs `work` in a transaction that holds the transaction-level advisory lock `key`, taken without
 * waiting; null, and nothing run, when another session holds it. For maintenance that replicas
 * take turns at: the one that finds the lock held leaves that round to the other.
 */
export async function inTurn<T>(
  dataSource: DataSource,
  key: number,
  work: (em: EntityManager) => Promise<T>,
): Promise<T | null> {
  return dataSource.transaction(async (em) => {
    const [{ locked }] = await em.query<{ locked: boolean }[]>(
      'SELECT pg_try_advisory_xact_lock($1) AS locked',
      [key],
    );
    return locked ? work(em) : null;
  });
}
