import { resolveRequestId } from './request-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('resolveRequestId', () => {
  it.each(['abc', 'A-1.b_2:c', 'x'.repeat(128)])('keeps a well-formed caller id %s', (id) => {
    expect(resolveRequestId({ 'x-request-id': id })).toBe(id);
  });

  it.each(['', 'x'.repeat(129), 'has space', 'semi;colon', '<script>', 'ünïcode'])(
    'replaces a malformed id %j with a UUID',
    (id) => {
      expect(resolveRequestId({ 'x-request-id': id })).toMatch(UUID);
    },
  );

  it('generates a UUID when none is given', () => {
    expect(resolveRequestId({})).toMatch(UUID);
  });
});
