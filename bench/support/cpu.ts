/**
 * CPU time from /proc (Linux): what a phase cost the worker process and the PostgreSQL server,
 * per job. The drain bound of issue 6 is read off these: a job that costs the database more CPU
 * than the peers' cannot be drained faster than the cores allow, however fast the worker is.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { withClient } from './database';

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** utime + stime of a process (all its threads), in ms; NaN once it is gone. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return Number.NaN;
  }
}

/** CPU of every process named `postgres` on this host, by pid. */
function postgresProcesses(): Map<number, number> {
  const found = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      found.set(Number(entry), processCpuMs(Number(entry)));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/**
 * Starts counting the CPU the local PostgreSQL server spends (its backends, background writers
 * and autovacuum, including processes started meanwhile); stop() gives the ms, or NaN without a
 * `url` (the embedded store, inside the service) or when no PostgreSQL runs on this host (a
 * remote one). A backend that exits before stop() takes its share with it, so this errs low.
 */
export function postgresCpu(url: string | undefined): { stop(): number } {
  if (!url) return { stop: () => Number.NaN };
  const before = postgresProcesses();
  return {
    stop() {
      const after = postgresProcesses();
      if (after.size === 0) return Number.NaN;
      let total = 0;
      for (const [pid, ms] of after) if (Number.isFinite(ms)) total += ms - (before.get(pid) ?? 0);
      return total;
    },
  };
}

/**
 * Counts the WAL the PostgreSQL server at `url` writes until stop(), in bytes: every row version
 * and index entry a workload writes, whichever database it is in (the bench runs alone). NaN
 * without a server (the embedded store).
 */
export async function walWritten(url: string | undefined): Promise<{ stop(): Promise<number> }> {
  if (!url) return { stop: () => Promise.resolve(Number.NaN) };
  const query = (sql: string, params: string[] = []) =>
    withClient(url, async (client) => (await client.query<{ v: string }>(sql, params)).rows[0].v);
  const start = await query('SELECT pg_current_wal_lsn()::text AS v');
  return {
    stop: async () =>
      Number(await query('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text AS v', [start])),
  };
}
