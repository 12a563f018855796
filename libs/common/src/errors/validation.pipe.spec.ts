import { MAX_INPUT_DEPTH, unsafeInputFields } from './validation.pipe';

describe('unsafeInputFields', () => {
  it('names every string and key PostgreSQL could not store, by path', () => {
    const body = { ok: 'é😀', a: 'x\u0000', b: [{ c: '\ud800' }], ['k\u0000']: 1, d: { e: 'y\udc00' } };
    expect(unsafeInputFields(body).map((e) => e.field)).toEqual(['a', 'b.0.c', '(body)', 'd.e']);
  });

  it('prefixes a named parameter, and passes clean input', () => {
    expect(unsafeInputFields('a\u0000', 'type')).toEqual([{ field: 'type', message: expect.any(String) }]);
    expect(unsafeInputFields({ a: ['b', 1, null, { c: true }] })).toEqual([]);
  });

  it('stops at MAX_INPUT_DEPTH instead of recursing without end', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(unsafeInputFields({ a: deep })).toEqual([
      { field: `a${'.0'.repeat(MAX_INPUT_DEPTH - 1)}`, message: expect.stringContaining('nested deeper') },
    ]);
    let ok: unknown = 'leaf';
    for (let i = 0; i < MAX_INPUT_DEPTH - 1; i++) ok = [ok];
    expect(unsafeInputFields({ a: ok })).toEqual([]);
  });
});
