import fc from 'fast-check';
import { Client } from 'pg';
import { arrayLiteral } from '@lib/database';
import { startRawStore } from './support/test-store';

/** arrayLiteral() against the store's own array parser: what goes in is what PostgreSQL reads. */
describe('arrayLiteral (libs/database)', () => {
  let store: { url: string; stop(): Promise<void> };
  let client: Client;

  beforeAll(async () => {
    store = await startRawStore();
    client = new Client({ connectionString: store.url });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
    await store.stop();
  });

  const read = async <T>(literal: string, cast: string): Promise<T[]> =>
    (await client.query<{ a: T[] }>(`SELECT $1::${cast} AS a`, [literal])).rows[0].a;

  it('round-trips any text, NULL included, element for element', async () => {
    const samples = [
      ['', 'NULL', 'null', '{}', '{"a":"\\\\"}', 'a,b', ' x ', '"', '\\', 'é☃\u{1F600}'],
      [null, 'x', null],
      [],
      // One value repeated (a batch's statuses, its NULLs) is built another way: by repetition.
      ['"\\', '"\\', '"\\'],
      [null, null, null],
      ['NULL'],
      ['a', 'a', 'a', 'b'],
    ];
    const random = [
      ...fc.sample(fc.array(fc.option(fc.string({ unit: 'grapheme' }), { nil: null })), 200),
      // Few distinct values: runs of one value, then another.
      ...fc.sample(fc.array(fc.constantFrom<string | null>('a', null, 'NULL', '', '"\\,{}')), 200),
    ];
    for (const values of [...samples, ...random]) {
      // PostgreSQL text cannot hold NUL; the service never sends one (storableText).
      const clean = values.map((v) => (v === null ? null : v.replaceAll('\u0000', '')));
      expect(await read<string | null>(arrayLiteral(clean), 'text[]')).toEqual(clean);
    }
  });

  it('sends numbers, booleans and dates as their typed values', async () => {
    expect(await read<number>(arrayLiteral([1, -2, 3.5]), 'float8[]')).toEqual([1, -2, 3.5]);
    expect(await read<number | null>(arrayLiteral([7, null]), 'int[]')).toEqual([7, null]);
    expect(await read<boolean>(arrayLiteral([true, false]), 'boolean[]')).toEqual([true, false]);
    const at = new Date('2026-12-03T08:00:00.123Z');
    expect(await read<Date | null>(arrayLiteral([at, null]), 'timestamptz[]')).toEqual([at, null]);
    expect(await read<number>(arrayLiteral([100, 100]), 'smallint[]')).toEqual([100, 100]);
  });

  it('reads each element through a pick when given one', async () => {
    const rows = [
      { id: 'a', n: 1 },
      { id: 'b', n: 1 },
      { id: null, n: 2 },
    ];
    expect(
      await read<string | null>(
        arrayLiteral(rows, (row) => row.id),
        'text[]',
      ),
    ).toEqual(['a', 'b', null]);
    expect(
      await read<number>(
        arrayLiteral(rows, (row) => row.n),
        'int[]',
      ),
    ).toEqual([1, 1, 2]);
  });
});
