import { storableJson, storableText } from './storable-text';

describe('storable text', () => {
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
