import { randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { BASE_TEST_ENV } from './test-env';

export interface Session {
  accessToken: string;
  refreshToken: string;
  headers: { authorization: string };
}

export async function login(app: NestFastifyApplication, email: string, password: string): Promise<Session> {
  const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } });
  if (res.statusCode !== 200) throw new Error(`login ${email} → ${res.statusCode} ${res.body}`);
  const { accessToken, refreshToken } = res.json<{ accessToken: string; refreshToken: string }>();
  return { accessToken, refreshToken, headers: { authorization: `Bearer ${accessToken}` } };
}

export function loginAdmin(app: NestFastifyApplication): Promise<Session> {
  return login(app, BASE_TEST_ENV.ADMIN_EMAIL, BASE_TEST_ENV.ADMIN_PASSWORD);
}

/** A new user (through the admin API) and their session; a factory, not shared seed data. */
export async function newUser(
  app: NestFastifyApplication,
  admin: Session,
  role: 'user' | 'admin' = 'user',
  password = `pw-${randomUUID()}`,
): Promise<Session & { id: string; email: string; password: string }> {
  const email = `u-${randomUUID()}@test.local`;
  const res = await app.inject({
    method: 'POST',
    url: '/v1/admin/users',
    headers: admin.headers,
    payload: { email, password, role },
  });
  if (res.statusCode !== 201) throw new Error(`create user → ${res.statusCode} ${res.body}`);
  return { ...(await login(app, email, password)), id: res.json<{ id: string }>().id, email, password };
}

/** POST /v1/users/me/api-keys as `session`; fails the test unless it was created. */
export async function newApiKey(
  app: NestFastifyApplication,
  session: Pick<Session, 'headers'>,
  name = 'k',
): Promise<{ id: string; name: string; prefix: string; key: string }> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/users/me/api-keys',
    headers: session.headers,
    payload: { name },
  });
  if (res.statusCode !== 201) throw new Error(`create API key → ${res.statusCode} ${res.body}`);
  return res.json();
}
