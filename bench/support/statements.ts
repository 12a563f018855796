/**
 * Which statements a drain's PostgreSQL time goes to, per system (`--statements`): the
 * pg_stat_statements view over the drain window, cluster-wide (the bench runs alone). It needs
 * the module in `shared_preload_libraries`; without it the bench says so once and goes on.
 */
import { createDatabase, withClient } from './database';

export interface StatementCost {
  query: string;
  calls: number;
  /** Execution time, ms (planning is not tracked by default). */
  execMs: number;
  rows: number;
  /** Shared buffers hit or read. */
  blocks: number;
  walBytes: number;
}

const TOP = 6;
let unavailable = false;

/** Resets the counters now; stop() reads the statements that cost most since. Null when unavailable. */
export async function statementWindow(
  url: string | undefined,
): Promise<{ stop(): Promise<StatementCost[]> } | null> {
  if (!url || unavailable) return null;
  // The view is read through a throwaway database, so the extension is never left behind.
  const database = await createDatabase(url, 'statements');
  try {
    await withClient(database.url, async (client) => {
      await client.query('CREATE EXTENSION pg_stat_statements');
      await client.query('SELECT pg_stat_statements_reset()');
    });
  } catch (error) {
    await database.drop();
    unavailable = true;
    console.log(`--statements: pg_stat_statements is not usable here (${(error as Error).message})`);
    return null;
  }
  return {
    stop: async () => {
      try {
        return await withClient(database.url, async (client) => {
          const { rows } = await client.query<Record<keyof StatementCost, string>>(
            `SELECT query, calls, total_exec_time AS "execMs", rows,
               shared_blks_hit + shared_blks_read AS blocks, wal_bytes AS "walBytes"
             FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'
             ORDER BY total_exec_time DESC LIMIT $1`,
            [TOP],
          );
          return rows.map((row) => ({
            query: row.query,
            calls: Number(row.calls),
            execMs: Number(row.execMs),
            rows: Number(row.rows),
            blocks: Number(row.blocks),
            walBytes: Number(row.walBytes),
          }));
        });
      } finally {
        await database.drop();
      }
    },
  };
}

/** One line per statement, its costs per drained job, the text cut to fit. */
export function formatStatements(label: string, jobs: number, costs: StatementCost[]): string {
  const per = (n: number) => n / jobs;
  const lines = costs.map((c) =>
    [
      `${((per(c.execMs) * 1000).toFixed(1) + ' µs').padStart(9)}`,
      `${per(c.calls).toFixed(4).padStart(7)} calls`,
      `${(c.calls ? c.rows / c.calls : 0).toFixed(0).padStart(5)} rows/call`,
      `${per(c.blocks).toFixed(1).padStart(5)} blocks`,
      `${per(c.walBytes).toFixed(0).padStart(5)} WAL B`,
      c.query.replace(/\s+/g, ' ').slice(0, 110),
    ].join('  '),
  );
  return [`${label}: statements by PostgreSQL execution time, per drained job`, ...lines].join('\n');
}
