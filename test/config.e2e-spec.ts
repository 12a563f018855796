import { runServiceToExit } from './support/spawn-service';

describe('configuration is validated at start-up (CONTRACT §8)', () => {
  it('stops with exit 1 and one message naming every bad variable', async () => {
    const { code, stdout, stderr } = await runServiceToExit({
      PORT: 'eighty',
      JOBS_CONCURRENCY: '0',
      DATABASE_URL: 'mysql://nope',
      LOG_LEVEL: 'chatty',
      // bcrypt would check only its first 72 bytes.
      ADMIN_PASSWORD: 'p'.repeat(73),
    });
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]) as { level: number; msg: string };
    expect(line.level).toBe(60);
    for (const variable of ['PORT', 'JOBS_CONCURRENCY', 'DATABASE_URL', 'LOG_LEVEL', 'ADMIN_PASSWORD']) {
      expect(line.msg).toContain(variable);
    }
    expect(stdout).not.toContain('listening');
  });

  it('refuses to start in production without JWT_SECRET or with weak bcrypt', async () => {
    const { code, stderr } = await runServiceToExit({
      NODE_ENV: 'production',
      JWT_SECRET: '',
      BCRYPT_ROUNDS: '8',
    });
    expect(code).toBe(1);
    expect(stderr).toContain('JWT_SECRET is required when NODE_ENV=production');
    expect(stderr).toContain('BCRYPT_ROUNDS must be at least 10');
  });
});
