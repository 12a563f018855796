import { findUnstorableValue, MAX_JSON_DEPTH, storableJson, storableText } from './storable-json';

describe('findUnstorableValue', () => {
  it('finds strings and keys PostgreSQL could not store, by path', () => {
    expect(findUnstorableValue({ ok: 'é😀', a: 'x\u0000' })?.field).toBe('a');
    expect(findUnstorableValue({ b: [{ c: '\ud800' }] })?.field).toBe('b.0.c');
    expect(findUnstorableValue({ d: { e: 'y\udc00' } })?.field).toBe('d.e');
    expect(findUnstorableValue({ ['k\u0000']: 1 })).toEqual({
      field: '(body)',
      message: expect.stringContaining('keys'),
    });
  });

  it('refuses the keys the pipe would drop silently', () => {
    expect(findUnstorableValue(JSON.parse('{"p":{"__proto__":{"x":1}}}'))?.field).toBe('p.__proto__');
    expect(findUnstorableValue({ constructor: 1 })?.field).toBe('constructor');
  });

  it('prefixes a named parameter, and passes clean input', () => {
    expect(findUnstorableValue('a\u0000', 'type')).toEqual({ field: 'type', message: expect.any(String) });
    expect(findUnstorableValue({ a: ['b', 1, null, { c: true }] })).toBeUndefined();
  });

  it('stops at MAX_JSON_DEPTH, at any depth of input, without recursing', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnstorableValue({ a: deep })).toEqual({
      field: `a${'.0'.repeat(MAX_JSON_DEPTH - 1)}`,
      message: expect.stringContaining('nest deeper'),
    });
    let ok: unknown = 'leaf';
    for (let i = 0; i < MAX_JSON_DEPTH - 1; i++) ok = [ok];
    expect(findUnstorableValue({ a: ok })).toBeUndefined();
  });
});

describe('findUnstorableValue: numbers and per-item arrays', () => {
  it('refuses a number JSON cannot write back (1e400 parses as Infinity)', () => {
    expect(findUnstorableValue(JSON.parse('{"a":{"n":-1e400}}'))).toEqual({
      field: 'a.n',
      message: 'must be a finite number',
    });
    expect(findUnstorableValue({ n: 1.5e308, m: -0 })).toBeUndefined();
  });

  it('under itemsKey checks only the nesting and reserved keys: each item is checked on its own later', () => {
    const body = { jobs: [{ payload: { a: '\u0000', n: Infinity } }] };
    expect(findUnstorableValue(body, '', 'jobs')).toBeUndefined();
    expect(findUnstorableValue(body)).toMatchObject({ field: expect.stringMatching(/^jobs\.0\.payload\./) });
    // The rest of the body is checked in full, and too deep an item refuses the whole body.
    expect(findUnstorableValue({ ...body, note: 'a\u0000' }, '', 'jobs')).toMatchObject({ field: 'note' });
    expect(findUnstorableValue({ jobs: [{ payload: { constructor: 1 } }] }, '', 'jobs')).toMatchObject({
      field: 'jobs.0.payload.constructor',
    });
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(findUnstorableValue({ jobs: [{ payload: deep }] }, '', 'jobs')).toMatchObject({
      message: expect.stringContaining('nest deeper'),
    });
  });
});

describe('storableJson and storableText (repairing what handlers report)', () => {
  it.each([
    ['a\u0000b', 'a\ufffdb'],
    ['\ud800', '\ufffd'],
    ['x\udc00y', 'x\ufffdy'],
    ['\ud83d\ude00 stays', '\ud83d\ude00 stays'],
    ['\\u0000 typed as text stays', '\\u0000 typed as text stays'],
    ['\\\u0000', '\\\ufffd'],
    ['\u0000\u0000', '\ufffd\ufffd'],
  ])('storableJson(JSON.stringify(%j)) parses back to %j', (value, expected) => {
    const json = storableJson(JSON.stringify({ [value]: [value] }));
    expect(JSON.parse(json)).toEqual({ [expected]: [expected] });
  });

  it('leaves JSON without offending characters as it was', () => {
    const json = JSON.stringify({ a: 'é\n\t"\\', b: [1, null, '\u0001'] });
    expect(storableJson(json)).toBe(json);
  });

  it('storableText replaces NUL only', () => {
    expect(storableText('a\u0000b\u0001')).toBe('a\ufffdb\u0001');
  });
});
