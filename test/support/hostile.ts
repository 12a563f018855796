import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { DataSource } from 'typeorm';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Problem } from '@lib/common';

// Shared by the hostile-input suites (issue 7.3): the invariants every refused request must
// hold (CONTRACT §3: a clear problem+json 4xx that changes nothing) and the generators.

const VALIDATION_CODES = new Set(['REQUEST.VALIDATION_FAILED', 'JOBS.INVALID']);

/** A 4xx with a complete RFC 9457 body; validation problems name their fields. */
export function expectClientProblem(res: LightMyRequestResponse, status?: number): Problem {
  const where = `${res.statusCode} ${res.body.slice(0, 300)}`;
  if (status !== undefined) expect(where).toMatch(new RegExp(`^${status} `));
  expect(where).toMatch(/^4\d\d /);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json<Problem>();
  expect(body).toEqual(
    expect.objectContaining({
      type: expect.any(String),
      title: expect.any(String),
      status: res.statusCode,
      detail: expect.any(String),
      instance: expect.any(String),
      requestId: res.headers['x-request-id'],
    }),
  );
  if (VALIDATION_CODES.has(body.code)) {
    expect(body.errors).toEqual(
      expect.arrayContaining([{ field: expect.any(String), message: expect.any(String) }]),
    );
  }
  return body;
}

/**
 * Detects any committed change to any table. Reading the next transaction id is one cheap query
 * (read-only transactions take none); only when it moved are the tables fingerprinted (count and
 * md5 of every row per table) and compared, so background writes that change nothing pass.
 */
export class StoreWatch {
  private tables: string[] = [];
  private fingerprint = '';
  private xid = '';

  constructor(private readonly dataSource: DataSource) {}

  static async of(app: NestFastifyApplication): Promise<StoreWatch> {
    const watch = new StoreWatch(app.get(DataSource));
    await watch.reset();
    return watch;
  }

  /** Takes the current state as the baseline (after the test's own setup writes). */
  async reset(): Promise<void> {
    const rows = await this.dataSource.query<{ name: string }[]>(
      "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    );
    this.tables = rows.map((row) => row.name);
    this.fingerprint = await this.takeFingerprint();
    this.xid = await this.nextXid();
  }

  /**
   * Fails, naming the tables, if any row differs from the baseline. A change becomes the new
   * baseline, so that fast-check's shrinking (and the next property) are judged on their own.
   */
  async expectUnchanged(): Promise<void> {
    const xid = await this.nextXid();
    if (xid === this.xid) return;
    const before = this.fingerprint;
    this.fingerprint = await this.takeFingerprint();
    this.xid = xid;
    expect(this.fingerprint).toBe(before);
  }

  /**
   * Per table: `name count md5`. Audit rows of failed attempts are left out: CONTRACT §6 wants
   * them (a user cancelling another's job gets a 404 and leaves a `success=false` row), and they
   * change no data. The audit table is counted, not hashed: the database refuses UPDATE and
   * DELETE on it, so a success row can only be added, and every refused request adds a failed
   * row, which made hashing the growing table most of this check's time.
   */
  async takeFingerprint(): Promise<string> {
    const sql = this.tables
      .map((name) =>
        name === 'audit_logs'
          ? `SELECT '${name}' AS name, count(*)::int AS n, '' AS h FROM "${name}" t WHERE t.success`
          : `SELECT '${name}' AS name, count(*)::int AS n, ` +
            `md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) AS h FROM "${name}" t`,
      )
      .join(' UNION ALL ');
    const rows = await this.dataSource.query<{ name: string; n: number; h: string }[]>(sql);
    return rows.map((row) => `${row.name} ${row.n} ${row.h}`).join('\n');
  }

  private async nextXid(): Promise<string> {
    const [row] = await this.dataSource.query<{ x: string }[]>(
      'SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS x',
    );
    return row.x;
  }
}

/** Counts the requests a suite generated, so the total per run is visible in its test names. */
export class RequestCounter {
  total = 0;
  readonly byRoute = new Map<string, number>();

  add(route: string): void {
    this.total += 1;
    this.byRoute.set(route, (this.byRoute.get(route) ?? 0) + 1);
  }
}

/** Fixed per run unless FC_SEED is set; fast-check prints seed and path on failure. */
export const FC_SEED = Number(process.env.FC_SEED ?? 7_300_003);

// Strings an attacker reaches for. All of them are well-formed and NUL-free: where a field
// accepts free text they are valid data, to be stored verbatim.
export const INJECTION_STRINGS = [
  "'; DROP TABLE jobs;--",
  "' OR '1'='1",
  '" OR 1=1 --',
  "admin'--",
  '1; SELECT pg_sleep(10)',
  '$$; DELETE FROM users; $$',
  '%_%',
  '\\',
  '{"$gt": ""}',
  '{"$where": "sleep(1000)"}',
  '{{7*7}}',
  '${7*7}',
  '#{7*7}',
  '<%= 7*7 %>',
  '<script>alert(1)</script>',
  '../../../etc/passwd',
  '%00',
  '\\u0000',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  '\u202eevil\u202c',
  'zero\u200bwidth\u200d',
  '\ufeffbom',
  'e\u0301\u0301\u0301',
  '👨‍👩‍👧‍👦',
  '𝕳𝖊𝖑𝖑𝖔',
  'مرحبا',
  '\t\r\n',
  ' ',
];

/** Text that the store cannot hold: every one must be refused with a 400. */
export const UNSTORABLE_STRINGS = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\udc00\ud800',
  'ok\u0000\ud83d',
];

/** Any well-formed text, including hostile samples, of at most `max` UTF-16 units (when given). */
export function hostileText(max?: number): fc.Arbitrary<string> {
  const text = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.constantFrom(...INJECTION_STRINGS),
    fc.tuple(fc.constantFrom(...INJECTION_STRINGS), fc.string()).map(([a, b]) => a + b),
  );
  return max === undefined ? text : text.filter((s) => s.length <= max);
}

/** A string containing NUL or an unpaired surrogate somewhere. */
export const unstorableText: fc.Arbitrary<string> = fc
  .tuple(fc.string({ maxLength: 20 }), fc.constantFrom(...UNSTORABLE_STRINGS), fc.string({ maxLength: 20 }))
  .map(([a, bad, b]) => a + bad + b);

/** Nested arrays or objects deeper than any request may nest (the pipe's limit is 64). */
export const tooDeep: fc.Arbitrary<unknown> = fc
  .tuple(fc.integer({ min: 65, max: 3000 }), fc.boolean())
  .map(([depth, objects]) => {
    let value: unknown = objects ? {} : [];
    for (let i = 0; i < depth; i += 1) value = objects ? { a: value } : [value];
    return value;
  });

/** JSON values of every type, shallow, including hostile strings and odd numbers. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  hostileText(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.integer(), fc.string()), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.integer(), fc.string()), { maxKeys: 4 }),
);

/** A string over `max` characters (code points): sometimes far over it. */
export function tooLong(max: number): fc.Arbitrary<string> {
  return (
    fc
      .tuple(
        fc.integer({ min: max + 1, max: max * 20 + 100 }),
        fc.constantFrom('x', 'é', '😀', '\u200b', "'"),
      )
      // Each unit is one code point, as MaxLength and PostgreSQL count them.
      .map(([length, unit]) => unit.repeat(length))
  );
}

/** A query string from key/value pairs; arrays repeat the key. */
export function toQuery(params: Record<string, unknown>): string {
  const parts = Object.entries(params).flatMap(([key, value]) =>
    (Array.isArray(value) ? value : [value]).map(
      (item) => `${encodeURIComponent(key)}=${encodeURIComponent(String(item))}`,
    ),
  );
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

/** Well-formed text only: encodeURIComponent throws on unpaired surrogates. */
export const isWellFormed = (text: string): boolean => !/\p{Cs}/u.test(text);
