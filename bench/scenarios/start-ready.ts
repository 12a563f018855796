/**
 * (e) Start → ready on the embedded store: spawn to the first /health/ready 200, on a fresh data
 * dir (initdb, migrations, first admin) and again on the same dir. Ours only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnService, stopService } from '../support/service';
import type { Scenario } from './scenario';

async function secondsToReady(env: Record<string, string>): Promise<number> {
  const service = await spawnService(env);
  try {
    await service.ready(5);
    return (performance.now() - service.spawnedAt) / 1000;
  } finally {
    await stopService(service);
  }
}

export const startReady: Scenario = {
  key: 'e',
  title: 'start → ready (embedded)',
  async run(system, options) {
    if (system.name !== 'ours') return null;
    const dataDir = mkdtempSync(join(tmpdir(), 'jobs-bench-start-'));
    try {
      const { DATABASE_URL: _ignored, ...env } = options.oursEnv;
      return {
        'fresh data dir s': await secondsToReady({ ...env, DATA_DIR: dataDir }),
        'existing data dir s': await secondsToReady({ ...env, DATA_DIR: dataDir }),
      };
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
