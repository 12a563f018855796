import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Imported before the app so that configuration sees these values.
export const dataDir = mkdtempSync(join(tmpdir(), 'jobs-bench-auth-'));
Object.assign(process.env, {
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  DATA_DIR: dataDir,
  BCRYPT_ROUNDS: process.env.BCRYPT_ROUNDS ?? '12',
  RATE_LIMIT_PER_MINUTE: '0',
  AUTH_RATE_LIMIT_PER_MINUTE: '0',
  ADMIN_EMAIL: 'bench@bench.local',
  ADMIN_PASSWORD: 'bench-password-0123',
});
