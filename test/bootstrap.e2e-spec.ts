import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runServiceToExit, type SpawnedService, spawnService } from './support/spawn-service';
import { createTestStore, type TestStore } from './support/test-store';

const NO_ADMIN_ENV = { ADMIN_EMAIL: '', ADMIN_PASSWORD: '' };

// CONTRACT §4: first admin and the development JWT secret, on a fresh install.
describe('first start', () => {
  let store: TestStore;
  let secretsDir: string;
  beforeEach(async () => {
    store = await createTestStore();
    // On the embedded store DATA_DIR is the store's own dir; on PostgreSQL it only holds secrets.
    secretsDir = store.env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'jobs-service-secrets-'));
  });
  afterEach(async () => {
    await store.drop();
    rmSync(secretsDir, { recursive: true, force: true });
  });

  it('in development: creates admin@localhost, prints its password once, and keeps a generated JWT secret', async () => {
    const env = {
      ...store.env,
      ...NO_ADMIN_ENV,
      NODE_ENV: 'development',
      JWT_SECRET: '',
      DATA_DIR: secretsDir,
    };
    const first = await spawnService(env);
    let accessToken: string;
    let password: string | undefined;
    try {
      password = await generatedPassword(first);
      expect(password).toBeDefined();
      const loginRes = await fetch(`${first.url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'admin@localhost', password }),
      });
      expect(loginRes.status).toBe(200);
      accessToken = ((await loginRes.json()) as { accessToken: string }).accessToken;
    } finally {
      expect((await first.stop()).code).toBe(0);
    }

    const secretFile = join(secretsDir, 'jwt-secret');
    expect(existsSync(secretFile)).toBe(true);
    expect(statSync(secretFile).mode & 0o077).toBe(0);
    expect(readFileSync(secretFile, 'utf8').length).toBeGreaterThanOrEqual(32);

    // Restart: no second admin, no password printed again, and the old token still verifies.
    const second = await spawnService(env);
    try {
      expect(second.lines.some((l) => l.includes('Created the first admin'))).toBe(false);
      const me = await fetch(`${second.url}/v1/users/me`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect(me.status).toBe(200);
      expect(second.lines.join('\n')).not.toContain(password!);
    } finally {
      await second.stop();
    }
  });

  it('in development: a start that fails (port in use) creates no admin, so the next one prints its password', async () => {
    const env = { ...store.env, ...NO_ADMIN_ENV, NODE_ENV: 'development', DATA_DIR: secretsDir };
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = taken.address() as AddressInfo;
      const failed = await runServiceToExit({ ...env, LOG_LEVEL: 'info', PORT: String(port) });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain('EADDRINUSE');
      expect(`${failed.stdout}${failed.stderr}`).not.toContain('Created the first admin');
    } finally {
      taken.close();
    }

    const next = await spawnService(env);
    try {
      const password = await generatedPassword(next);
      const login = await fetch(`${next.url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'admin@localhost', password }),
      });
      expect(login.status).toBe(200);
    } finally {
      await next.stop();
    }
  });

  it('in production without ADMIN_EMAIL/ADMIN_PASSWORD: starts without an admin and warns', async () => {
    const service = await spawnService({
      ...store.env,
      ...NO_ADMIN_ENV,
      NODE_ENV: 'production',
      BCRYPT_ROUNDS: '10',
      DATA_DIR: secretsDir,
    });
    try {
      expect(service.lines.some((l) => l.includes('No admin exists'))).toBe(true);
      expect(service.lines.some((l) => l.includes('Created the first admin'))).toBe(false);
      expect(existsSync(join(secretsDir, 'jwt-secret'))).toBe(false);
    } finally {
      await service.stop();
    }
  });
});

/** The generated admin's password, from the line printed just after the service listens. */
async function generatedPassword(service: SpawnedService): Promise<string | undefined> {
  for (let waited = 0; waited < 10_000; waited += 50) {
    const line = service.lines.find((l) => l.includes('Created the first admin'));
    if (line) return /admin@localhost with password (\S+)/.exec(line)?.[1];
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return undefined;
}
