import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { loginAdmin, newApiKey, newUser, type Session } from './support/auth';
import { startTestApp, type TestApp } from './support/test-app';

interface Row {
  id: string;
  at: string;
  actorType: string;
  actorId: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  success: boolean;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  changes: Record<string, unknown> | null;
}

describe('audit trail over HTTP (CONTRACT §6)', () => {
  let t: TestApp;
  let admin: Session;
  let adminId: string;
  beforeAll(async () => {
    t = await startTestApp();
    admin = await loginAdmin(t.app);
    adminId = (await t.app.inject({ method: 'GET', url: '/v1/users/me', headers: admin.headers })).json<{
      id: string;
    }>().id;
  });
  afterAll(() => t.close());

  const query = async (qs: string) => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/v1/admin/audit-logs?${qs}`,
      headers: admin.headers,
    });
    expect(res.statusCode).toBe(200);
    return res.json<{ items: Row[]; nextCursor: string | null }>();
  };

  it('records a mutation with actor, ip, user agent, request id and changes, and never the password', async () => {
    const requestId = `audit-${randomUUID()}`;
    const password = `secret-${randomUUID()}`;
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/admin/users',
      headers: { ...admin.headers, 'x-request-id': requestId, 'user-agent': 'audit-test/1.0' },
      payload: { email: `a-${randomUUID()}@test.local`, password, role: 'user' },
      remoteAddress: '203.0.113.7',
    });
    expect(res.statusCode).toBe(201);
    const { items } = await query(`requestId=${requestId}`);
    expect(items).toEqual([
      expect.objectContaining({
        actorType: 'user',
        actorId: adminId,
        action: 'user.created',
        resourceType: 'user',
        resourceId: res.json<{ id: string }>().id,
        success: true,
        ip: '203.0.113.7',
        userAgent: 'audit-test/1.0',
        requestId,
      }),
    ]);
    const everything = await t.app
      .get(DataSource)
      .query<{ row: string }[]>('SELECT row_to_json(a)::text AS row FROM audit_logs a');
    for (const { row } of everything) expect(row).not.toContain(password);
  });

  it('ignores X-Forwarded-For unless TRUST_PROXY is on', async () => {
    const requestId = `xff-${randomUUID()}`;
    // A 403 is audited with the caller's IP: the socket's, whatever the header claims.
    const user = await newUser(t.app, admin);
    await t.app.inject({
      method: 'GET',
      url: '/v1/admin/users',
      headers: { ...user.headers, 'x-request-id': requestId, 'x-forwarded-for': '198.51.100.9' },
      remoteAddress: '203.0.113.8',
    });
    expect((await query(`requestId=${requestId}`)).items.map((r) => r.ip)).toEqual(['203.0.113.8']);

    const proxied = await startTestApp({ env: { TRUST_PROXY: 'true' } });
    try {
      const proxiedAdmin = await loginAdmin(proxied.app);
      const other = await newUser(proxied.app, proxiedAdmin);
      await proxied.app.inject({
        method: 'GET',
        url: '/v1/admin/users',
        headers: { ...other.headers, 'x-request-id': requestId, 'x-forwarded-for': '198.51.100.9' },
        remoteAddress: '203.0.113.8',
      });
      const rows = await proxied.app
        .get(DataSource)
        .query<{ ip: string }[]>('SELECT ip FROM audit_logs WHERE request_id = $1', [requestId]);
      expect(rows.map((r) => r.ip)).toEqual(['198.51.100.9']);
    } finally {
      await proxied.close();
    }
  });

  it('with TRUST_PROXY listing the proxies, takes the address the proxy saw, not one the client wrote', async () => {
    const proxied = await startTestApp({ env: { TRUST_PROXY: '10.0.0.0/8, ::1' } });
    try {
      const proxiedAdmin = await loginAdmin(proxied.app);
      const other = await newUser(proxied.app, proxiedAdmin);
      const denied = async (remoteAddress: string, forwardedFor: string) => {
        const requestId = `xff-${randomUUID()}`;
        await proxied.app.inject({
          method: 'GET',
          url: '/v1/admin/users',
          headers: { ...other.headers, 'x-request-id': requestId, 'x-forwarded-for': forwardedFor },
          remoteAddress,
        });
        const rows = await proxied.app
          .get(DataSource)
          .query<{ ip: string }[]>('SELECT ip FROM audit_logs WHERE request_id = $1', [requestId]);
        return rows.map((r) => r.ip);
      };
      // Through the proxy: the client wrote the first entry, the proxy appended what it saw.
      expect(await denied('10.1.2.3', '198.51.100.9, 203.0.113.7')).toEqual(['203.0.113.7']);
      // Through two proxies, both listed.
      expect(await denied('10.1.2.3', '198.51.100.9, 203.0.113.7, 10.9.9.9')).toEqual(['203.0.113.7']);
      // Straight from a client that is no listed proxy: its header is not believed at all.
      expect(await denied('203.0.113.8', '198.51.100.9')).toEqual(['203.0.113.8']);
      // A proxy that writes the client's port too (as Azure's Application Gateway does): the address alone.
      expect(await denied('10.1.2.3', '198.51.100.9, 203.0.113.7:51234')).toEqual(['203.0.113.7']);
      expect(await denied('10.1.2.3', '[2001:db8::7]:443')).toEqual(['2001:db8::7']);
    } finally {
      await proxied.close();
    }
  });

  it('records API-key callers as apikey actors', async () => {
    const user = await newUser(t.app, admin);
    const key = await newApiKey(t.app, user, 'k');
    const spare = await newApiKey(t.app, user, 'spare');
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/v1/users/me/api-keys/${spare.id}`,
      headers: { 'x-api-key': key.key },
    });
    expect(res.statusCode).toBe(204);
    const { items } = await query(`action=api_key.revoked&resourceId=${spare.id}`);
    expect(items).toEqual([expect.objectContaining({ actorType: 'apikey', actorId: user.id })]);
  });

  it('filters by actor, success and time, newest first', async () => {
    const user = await newUser(t.app, admin);
    await t.app.inject({ method: 'GET', url: '/v1/admin/users', headers: user.headers });
    const denied = await query(`actorId=${user.id}&success=false`);
    expect(denied.items.map((r) => r.action)).toEqual(['authz.denied']);
    const future = await query(`from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(future.items).toEqual([]);
    const all = await query('limit=100');
    const times = all.items.map((r) => r.at);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it('has no route that changes or deletes audit rows', async () => {
    const [{ id }] = (await query('limit=1')).items;
    for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
      const res = await t.app.inject({
        method,
        url: `/v1/admin/audit-logs/${id}`,
        headers: admin.headers,
        payload: {},
      });
      expect(res.statusCode).toBe(404);
    }
  });

  it('rejects bad filters with 400', async () => {
    for (const qs of ['actorId=nope', 'success=maybe', 'from=yesterday', 'limit=0', 'cursor=%%%']) {
      const res = await t.app.inject({
        method: 'GET',
        url: `/v1/admin/audit-logs?${qs}`,
        headers: admin.headers,
      });
      expect(`${qs} ${res.statusCode}`).toBe(`${qs} 400`);
    }
  });
});
