/** A one-paragraph description of where the numbers were taken, printed above the table. */
import { cpus, loadavg, totalmem } from 'node:os';
import { withClient } from './database';

export async function describeMachine(databaseUrl?: string): Promise<string> {
  const cpu = cpus();
  const lines = [
    `CPU: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown'}; RAM ${(totalmem() / 2 ** 30).toFixed(1)} GiB; ` +
      `load average at start ${loadavg()
        .map((n) => n.toFixed(2))
        .join(' ')}`,
    `Node ${process.version} on ${process.platform}/${process.arch}`,
  ];
  if (databaseUrl) {
    const version = await withClient(databaseUrl, async (client) => {
      const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
      return rows[0].server_version;
    });
    lines.push(
      `PostgreSQL ${version} at ${new URL(databaseUrl).host} (throwaway database per system, scenario and rep)`,
    );
  } else {
    lines.push('Store: embedded PGlite (throwaway data dir per scenario and rep)');
  }
  return lines.join('\n');
}
