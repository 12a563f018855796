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
