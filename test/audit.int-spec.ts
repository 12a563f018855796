import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { RequestContext, RequestValidationError } from '@lib/common';
import { AuditLog1795500000000 } from '../migrations/1795500000000-audit-log';
import { type AuditEntry, type AuditLogFilter, AuditService } from '../src/audit/audit.service';
import { startTestApp, type TestApp } from './support/test-app';

interface RawRow {
  id: string;
  at: Date;
  actor_type: string;
  actor_id: string | null;
  action: string;
  resource_id: string | null;
  success: boolean;
  error_code: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  changes: Record<string, unknown> | null;
}

const APPEND_ONLY = { code: '42501', message: expect.stringContaining('audit_logs is append-only') };

describe('audit trail in the store (CONTRACT §6)', () => {
  let t: TestApp;
  let db: DataSource;
  let audit: AuditService;

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(DataSource);
    audit = t.app.get(AuditService);
  });
  afterAll(() => t.close());

  /** Every test writes under a resource type of its own, so tests never see each other's rows. */
  const scope = () => `test-${randomUUID()}`;
  const rowsOf = (resourceType: string) =>
    db.query<RawRow[]>('SELECT * FROM audit_logs WHERE resource_type = $1 ORDER BY at, action', [
      resourceType,
    ]);
  const entry = (resourceType: string, action = 'test.done'): AuditEntry => ({ action, resourceType });

  /** Inserting is always allowed; this sets what record() would take from the clock or context. */
  async function insertRow(row: {
    resourceType: string;
    at: string;
    action?: string;
    actorId?: string | null;
    resourceId?: string | null;
    requestId?: string | null;
    success?: boolean;
  }): Promise<string> {
    const [{ id }] = await db.query<{ id: string }[]>(
      `INSERT INTO audit_logs (at, actor_type, actor_id, action, resource_type, resource_id, request_id, success)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
      [
        row.at,
        row.actorId ? 'user' : 'system',
        row.actorId ?? null,
        row.action ?? 'test.done',
        row.resourceType,
        row.resourceId ?? null,
        row.requestId ?? null,
        row.success ?? true,
      ],
    );
    return id;
  }

  describe('atomicity with the caller’s transaction', () => {
    it('a row recorded with em rolls back with its transaction and commits with it', async () => {
      const resourceType = scope();
      await expect(
        db.transaction(async (em) => {
          await audit.record(entry(resourceType, 'test.rolled_back'), em);
          throw new Error('the mutation failed');
        }),
      ).rejects.toThrow('the mutation failed');
      await db.transaction((em) => audit.record(entry(resourceType, 'test.committed'), em));

      expect((await rowsOf(resourceType)).map((r) => r.action)).toEqual(['test.committed']);
    });

    it('a row recorded without em stands on its own', async () => {
      const resourceType = scope();
      await audit.record({ ...entry(resourceType, 'auth.login.failed'), success: false, errorCode: 'X.Y' });
      expect(await rowsOf(resourceType)).toEqual([
        expect.objectContaining({ action: 'auth.login.failed', success: false, error_code: 'X.Y' }),
      ]);
    });
  });

  describe('append-only, enforced by the database', () => {
    let resourceType: string;
    let id: string;
    beforeAll(async () => {
      resourceType = scope();
      await audit.record({ ...entry(resourceType), changes: { role: { before: 'user', after: 'admin' } } });
      [{ id }] = await rowsOf(resourceType);
    });

    it.each([
      ['UPDATE', `UPDATE audit_logs SET success = NOT success WHERE id = $1`, true],
      ['DELETE', `DELETE FROM audit_logs WHERE id = $1`, true],
      ['TRUNCATE', `TRUNCATE audit_logs`, false],
    ])('refuses raw %s and leaves the row as it was', async (_op, sql, byId) => {
      const before = await rowsOf(resourceType);
      await expect(db.query(sql, byId ? [id] : [])).rejects.toMatchObject(APPEND_ONLY);
      expect(await rowsOf(resourceType)).toEqual(before);
    });

    it('refuses UPDATE and TRUNCATE even with the prune flag set', async () => {
      for (const sql of [
        `UPDATE audit_logs SET action = 'forged' WHERE id = '${id}'`,
        'TRUNCATE audit_logs',
      ]) {
        await expect(
          db.transaction(async (em) => {
            await em.query("SET LOCAL jobs_service.audit_prune = 'on'");
            await em.query(sql);
          }),
        ).rejects.toMatchObject(APPEND_ONLY);
      }
      expect((await rowsOf(resourceType)).map((r) => r.action)).toEqual(['test.done']);
    });

    it('keeps refusing DELETE after a prune: SET LOCAL ends with the prune’s transaction', async () => {
      await audit.pruneOlderThan(365);
      await expect(db.query('DELETE FROM audit_logs WHERE id = $1', [id])).rejects.toMatchObject(APPEND_ONLY);
      expect(await rowsOf(resourceType)).toHaveLength(1);
    });
  });

  describe('pruneOlderThan', () => {
    it('deletes in batches only the rows older than the cutoff and leaves the rest', async () => {
      const resourceType = scope();
      for (let i = 0; i < 5; i++) await insertRow({ resourceType, at: daysAgo(366 + i), action: 'test.old' });
      await insertRow({ resourceType, at: daysAgo(364), action: 'test.within' });
      await audit.record(entry(resourceType, 'test.fresh'));

      // Batches of 2: 2 + 2 + 1. No other test leaves rows older than a day.
      await expect(audit.pruneOlderThan(365, 2)).resolves.toBe(5);
      expect((await rowsOf(resourceType)).map((r) => r.action)).toEqual(['test.within', 'test.fresh']);
      await expect(audit.pruneOlderThan(365, 2)).resolves.toBe(0);
    });

    it('refuses a non-positive age or batch size instead of wiping the trail', async () => {
      await expect(audit.pruneOlderThan(0)).rejects.toThrow(RangeError);
      await expect(audit.pruneOlderThan(-1)).rejects.toThrow(RangeError);
      await expect(audit.pruneOlderThan(Number.NaN)).rejects.toThrow(RangeError);
      await expect(audit.pruneOlderThan(30, 0)).rejects.toThrow(RangeError);
    });
  });

  describe('list', () => {
    const actorA = randomUUID();
    const actorB = randomUUID();
    let resourceType: string;
    /** Newest first, as list must return them. */
    let expected: { id: string; at: string }[];

    beforeAll(async () => {
      resourceType = scope();
      const base = Date.now() - 3_600_000;
      const specs = [
        { offset: 0, action: 'user.created', actorId: actorA, resourceId: 'r1', requestId: 'req-1' },
        { offset: 1000, action: 'user.updated', actorId: actorA, resourceId: 'r1', requestId: 'req-1' },
        { offset: 2000, action: 'user.updated', actorId: actorB, resourceId: 'r2', requestId: 'req-2' },
        { offset: 3000, action: 'authz.denied', actorId: actorB, resourceId: null, success: false },
        // Three rows in one millisecond: only the id orders them, across a page boundary.
        { offset: 4000, action: 'job.created', actorId: null, resourceId: 'j1' },
        { offset: 4000, action: 'job.created', actorId: null, resourceId: 'j2' },
        { offset: 4000, action: 'job.created', actorId: null, resourceId: 'j3' },
        { offset: 5000, action: 'job.cancelled', actorId: actorA, resourceId: 'j1', requestId: 'req-3' },
      ];
      const rows = [];
      for (const spec of specs) {
        const at = new Date(base + spec.offset).toISOString();
        rows.push({ id: await insertRow({ resourceType, at, ...spec }), at });
      }
      const desc = (x: string, y: string) => (x < y ? 1 : x > y ? -1 : 0);
      expected = rows.sort((a, b) => desc(a.at, b.at) || desc(a.id, b.id));
    });

    const ids = async (filter: AuditLogFilter, limit = 100) =>
      (await audit.list({ resourceType, ...filter }, { limit })).items.map((r) => r.resourceId);

    it('pages through a known set newest first, with no duplicates or gaps', async () => {
      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await audit.list({ resourceType }, { limit: 3, cursor });
        pages.push(page.items.map((r) => r.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor && pages.length < 10);
      expect(pages.map((p) => p.length)).toEqual([3, 3, 2]);
      expect(pages.flat()).toEqual(expected.map((r) => r.id));
    });

    it('returns rows in the contract’s shape', async () => {
      const { items } = await audit.list({ resourceType, requestId: 'req-3' }, { limit: 20 });
      expect(items).toEqual([
        {
          id: expected[0].id,
          at: expected[0].at,
          actorType: 'user',
          actorId: actorA,
          action: 'job.cancelled',
          resourceType,
          resourceId: 'j1',
          success: true,
          errorCode: null,
          ip: null,
          userAgent: null,
          requestId: 'req-3',
          changes: null,
        },
      ]);
    });

    it('filters on each field', async () => {
      const at = (i: number) => expected[expected.length - 1 - i].at; // i-th inserted
      expect(await ids({ action: 'user.updated' })).toEqual(['r2', 'r1']);
      expect(await ids({ actorId: actorB })).toEqual([null, 'r2']);
      expect(await ids({ resourceId: 'j1' })).toEqual(['j1', 'j1']);
      expect(await ids({ requestId: 'req-1' })).toEqual(['r1', 'r1']);
      expect(await ids({ success: false })).toEqual([null]);
      expect(await ids({ success: true })).toHaveLength(7);
      expect(await ids({ from: at(2), to: at(4) })).toEqual([null, 'r2']); // from inclusive, to exclusive
      expect(await ids({ from: new Date(at(7)) })).toEqual(['j1']);
      expect(await ids({ action: 'user.updated', actorId: actorA })).toEqual(['r1']);
      expect(await ids({ resourceType: 'nothing-here' })).toEqual([]);
    });

    it('keeps its place among rows written in the same millisecond (microseconds are not stored)', async () => {
      const rt = scope();
      const base = new Date(Date.now() - 60_000);
      base.setMilliseconds(500);
      for (let us = 0; us < 5; us++) {
        await db.query(
          `INSERT INTO audit_logs (at, actor_type, action, resource_type, success)
           VALUES ($1::timestamptz + $2 * interval '1 microsecond', 'system', 'test.tie', $3, true)`,
          [base.toISOString(), us * 100, rt],
        );
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await audit.list({ resourceType: rt }, { limit: 2, cursor });
        seen.push(...page.items.map((r) => r.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor && seen.length < 20);
      expect(new Set(seen).size).toBe(5);
    });

    it('rejects a cursor it did not issue as a validation error on `cursor`', async () => {
      for (const cursor of ['nope', Buffer.from('["x","y"]').toString('base64url')]) {
        const failure = audit.list({}, { limit: 3, cursor });
        await expect(failure).rejects.toBeInstanceOf(RequestValidationError);
        await expect(failure).rejects.toMatchObject({ fieldErrors: [{ field: 'cursor' }] });
      }
    });
  });

  describe('what a row holds', () => {
    it('never stores secrets in changes, at any depth', async () => {
      const resourceType = scope();
      const secret = `s3cret-${randomUUID()}`;
      await audit.record({
        ...entry(resourceType, 'user.updated'),
        changes: {
          firstName: { before: 'Ada', after: 'Grace' },
          password: { after: secret },
          passwordHash: { before: secret, after: secret },
          settings: { after: { apiKey: secret, refreshToken: secret, theme: 'dark' } },
        },
      });
      const [row] = await rowsOf(resourceType);
      expect(row.changes).toEqual({
        firstName: { before: 'Ada', after: 'Grace' },
        settings: { after: { theme: 'dark' } },
      });
      expect(JSON.stringify(row)).not.toContain(secret);
    });

    it('outside a request, the actor is the system and there is no ip, user agent or request id', async () => {
      const resourceType = scope();
      await audit.record(entry(resourceType));
      expect(await rowsOf(resourceType)).toEqual([
        expect.objectContaining({
          actor_type: 'system',
          actor_id: null,
          ip: null,
          user_agent: null,
          request_id: null,
        }),
      ]);
    });

    it('inside a request, actor, ip, user agent and request id come from its context', async () => {
      const resourceType = scope();
      const userId = randomUUID();
      const context = t.app.get(RequestContext);
      const inRequest = (principal: Parameters<RequestContext['set']>[0]['principal'], action: string) =>
        context.run(() => {
          context.set({ requestId: `req-${action}`, ip: '203.0.113.9', userAgent: 'ua/1.0', principal });
          return audit.record(entry(resourceType, action));
        });
      await inRequest({ kind: 'user', userId, role: 'user' }, 'a.user');
      await inRequest({ kind: 'apikey', userId, role: 'user', apiKeyId: randomUUID() }, 'b.apikey');
      await inRequest(undefined, 'c.anonymous');
      await context.run(() => {
        context.set({ requestId: 'req-d.explicit' });
        return audit.record({ ...entry(resourceType, 'd.explicit'), actor: { type: 'system', id: null } });
      });

      const rows = (await rowsOf(resourceType)).sort((a, b) => a.action.localeCompare(b.action));
      expect(rows.map((r) => [r.action, r.actor_type, r.actor_id, r.request_id])).toEqual([
        ['a.user', 'user', userId, 'req-a.user'],
        ['b.apikey', 'apikey', userId, 'req-b.apikey'],
        ['c.anonymous', 'anonymous', null, 'req-c.anonymous'],
        ['d.explicit', 'system', null, 'req-d.explicit'],
      ]);
      expect(rows[0]).toMatchObject({ ip: '203.0.113.9', user_agent: 'ua/1.0' });
    });
  });

  describe('schema', () => {
    it('the migration’s down() removes the table and its guard, and up() restores them', async () => {
      const migration = new AuditLog1795500000000();
      const runner = db.createQueryRunner();
      await runner.connect();
      await runner.startTransaction();
      try {
        await migration.down(runner);
        expect(
          await runner.query(
            `SELECT to_regclass('audit_logs') AS t, to_regprocedure('audit_logs_append_only()') AS f`,
          ),
        ).toEqual([{ t: null, f: null }]);
        await migration.up(runner);
        const triggers = (await runner.query(
          `SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_logs'::regclass AND NOT tgisinternal ORDER BY tgname`,
        )) as { tgname: string }[];
        expect(triggers.map((r) => r.tgname)).toEqual([
          'TRG_audit_logs_append_only',
          'TRG_audit_logs_no_truncate',
        ]);
        const indexes = (await runner.query(
          `SELECT indexname FROM pg_indexes WHERE tablename = 'audit_logs' ORDER BY indexname`,
        )) as { indexname: string }[];
        expect(indexes.map((r) => r.indexname)).toEqual([
          'IDX_audit_logs_action',
          'IDX_audit_logs_actor',
          'IDX_audit_logs_at',
          'IDX_audit_logs_request_id',
          'IDX_audit_logs_resource',
          'PK_audit_logs',
        ]);
      } finally {
        await runner.rollbackTransaction();
        await runner.release();
      }
      expect(await db.query(`SELECT to_regclass('audit_logs')::text AS t`)).toEqual([{ t: 'audit_logs' }]);
    });

    it('refuses an unknown actor type', async () => {
      await expect(
        db.query(
          `INSERT INTO audit_logs (actor_type, action, resource_type, success) VALUES ('root', 'x', 'y', true)`,
        ),
      ).rejects.toMatchObject({ constraint: 'CHK_audit_logs_actor_type' });
    });

    it('maps GET /v1/admin/audit-logs, read-only, in the OpenAPI document', async () => {
      const doc = (await t.app.inject({ method: 'GET', url: '/docs-json' })).json<{
        paths: Record<string, Record<string, { tags?: string[]; security?: unknown[] }>>;
      }>();
      const auditPaths = Object.keys(doc.paths).filter((p) => p.startsWith('/v1/admin/audit-logs'));
      expect(auditPaths).toEqual(['/v1/admin/audit-logs']);
      const ops = doc.paths['/v1/admin/audit-logs'];
      expect(Object.keys(ops)).toEqual(['get']);
      expect(ops.get.tags).toEqual(['audit']);
      expect(ops.get.security).toEqual(expect.arrayContaining([{ bearer: [] }, { 'api-key': [] }]));
    });
  });
});

function daysAgo(days: number): string {
  return new Date(Date.now() - days * 86_400_000).toISOString();
}
