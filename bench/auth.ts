/**
 * Auth costs: login latency at BCRYPT_ROUNDS (default 12) and the per-request overhead of the
 * authentication guard on the JWT and API-key paths (warm caches, as in steady state).
 *
 *   npm run bench:auth                        # embedded store
 *   DATABASE_URL=postgres://… npm run bench:auth
 *
 * Overhead is measured as the same public route (GET /health/live, which never touches the
 * store) called without credentials, with a bearer token, and with an API key: the guard
 * identifies the caller on every route, so the difference is its cost.
 */
import { dataDir } from './auth-env';
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createApp } from '../src/app.factory';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

async function main(): Promise<void> {
  const app = await createApp();
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  const login = () =>
    app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'bench@bench.local', password: 'bench-password-0123' },
    });

  const logins: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    const res = await login();
    logins.push(performance.now() - t0);
    if (res.statusCode !== 200) throw new Error(res.body);
  }
  logins.sort((a, b) => a - b);
  const { accessToken } = (await login()).json<{ accessToken: string }>();
  const key = (
    await app.inject({
      method: 'POST',
      url: '/v1/users/me/api-keys',
      headers: { authorization: `Bearer ${accessToken}` },
      payload: { name: 'bench' },
    })
  ).json<{ key: string }>().key;

  const variants: [string, Record<string, string>][] = [
    ['no credentials', {}],
    ['bearer JWT', { authorization: `Bearer ${accessToken}` }],
    ['X-API-Key', { 'x-api-key': key }],
  ];
  const N = 5000;
  const results: Record<string, number> = {};
  for (let round = 0; round < 3; round++) {
    for (const [name, headers] of variants) {
      for (let i = 0; i < 200; i++) await app.inject({ method: 'GET', url: '/health/live', headers });
      const t0 = performance.now();
      for (let i = 0; i < N; i++) await app.inject({ method: 'GET', url: '/health/live', headers });
      const us = ((performance.now() - t0) * 1000) / N;
      results[name] = Math.min(results[name] ?? Infinity, us);
    }
  }
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });

  const store = process.env.DATABASE_URL ? 'postgres' : 'embedded';
  console.log(`store: ${store}, BCRYPT_ROUNDS=${process.env.BCRYPT_ROUNDS}`);
  console.log(
    `login latency (20 sequential): p50 ${percentile(logins, 0.5).toFixed(1)} ms, p95 ${percentile(logins, 0.95).toFixed(1)} ms`,
  );
  console.log(`GET /health/live in-process, best of 3 x ${N}:`);
  for (const [name] of variants) {
    const overhead = results[name] - results['no credentials'];
    console.log(
      `  ${name.padEnd(15)} ${results[name].toFixed(1)} µs/request  (auth overhead ${overhead.toFixed(1)} µs)`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
